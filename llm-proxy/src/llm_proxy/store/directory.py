"""Who callers are: presented keys and admin tokens resolved to grants, cached in process.

The request path asks this, never the database directly: a cached grant costs a hash and
a dict lookup. Admin changes call `changed()`, which clears every replica's caches
through `signals` (Redis pub/sub) so a revoked key stops working everywhere within ~1 s.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable

from llm_proxy.config.client_auth import ClientCertificate
from llm_proxy.config.models import GatewayConfig
from llm_proxy.config.secrets import resolve_setting
from llm_proxy.oidc.verifier import JwtVerifier
from llm_proxy.store import grants
from llm_proxy.store.cache import TtlCache
from llm_proxy.store.credentials import hash_secret
from llm_proxy.store.database import Database
from llm_proxy.store.grants import AdminGrant, KeyGrant, TeamGrant
from llm_proxy.store.signals import Invalidations


class Directory:
    def __init__(self, database: Database, config: GatewayConfig) -> None:
        auth = config.auth
        self.database = database
        self.signals = Invalidations(config.redis.url, config.redis.prefix)
        self._keys = TtlCache(self._load_key, auth.key_cache_ttl_s, auth.miss_cache_ttl_s)
        self._admin = TtlCache(self._load_admin, auth.key_cache_ttl_s, auth.miss_cache_ttl_s)
        # Signed tokens (auth.jwt): their teams' and users' grants, and the jti deny-list.
        self.jwt = JwtVerifier(auth.jwt) if auth.jwt is not None else None
        self._teams = TtlCache(self._load_team, auth.key_cache_ttl_s, auth.miss_cache_ttl_s)
        self._denied = TtlCache(self._load_denied, auth.key_cache_ttl_s, auth.miss_cache_ttl_s)
        for cache in (self._keys, self._admin, self._teams, self._denied):
            self.signals.on_change(cache.clear)
        self._local: list[Callable[[], None]] = []
        tls = config.gateway.tls
        self._certificates = {c.name: c for c in tls.clients} if tls is not None else {}
        edge_ref = config.gateway.edge_secret_ref
        edge_secret = resolve_setting(edge_ref, "gateway.edge_secret_ref") if edge_ref else None
        self._edge_secret = edge_secret.encode() if edge_secret else None

    async def start(self) -> None:
        await self.signals.start()

    async def close(self) -> None:
        await self.signals.close()
        if self.jwt is not None:
            await self.jwt.close()

    async def key_by_secret(self, plaintext: str) -> KeyGrant | None:
        return await self._keys.get("hash:" + hash_secret(plaintext))

    async def key_by_id(self, key_id: str) -> KeyGrant | None:
        return await self._keys.get("id:" + key_id)

    async def admin_token(self, plaintext: str) -> AdminGrant | None:
        return await self._admin.get(hash_secret(plaintext))

    async def team_grant(self, team_ref: str | None, user_ref: str | None) -> TeamGrant | None:
        """A signed token's team and user claims, resolved (see `grants.team_grant`)."""
        return await self._teams.get(f"{team_ref or ''}\n{user_ref or ''}")

    async def denied_tokens(self) -> frozenset[str]:
        """The deny-list's token ids, held whole in memory (it is short: revoked tokens
        leave it when they expire), reloaded on every change signal."""
        return await self._denied.get("") or frozenset()

    def certificate(self, name: str | None) -> ClientCertificate | None:
        """The mTLS client a request's certificate matched (by `api.client_cert`)."""
        return self._certificates.get(name) if name else None

    def edge_trusted(self, presented: str | None) -> bool:
        """Does a request carry Kong's shared edge secret? Without one configured, never."""
        if self._edge_secret is None or not presented:
            return False
        return hmac.compare_digest(presented.encode(), self._edge_secret)

    def on_local_change(self, listener: Callable[[], None]) -> None:
        """Called when an admin change is made through this process (not another replica)."""
        self._local.append(listener)

    async def changed(self) -> None:
        """Keys, tokens, teams, users or budgets changed: every replica drops its grants."""
        await self.signals.publish()
        for listener in self._local:
            listener()

    async def _load_key(self, lookup: str) -> KeyGrant | None:
        kind, _, value = lookup.partition(":")
        async with self.database.session() as session:
            if kind == "id":
                return await grants.key_by_id(session, value)
            return await grants.key_by_hash(session, value)

    async def _load_admin(self, token_hash: str) -> AdminGrant | None:
        async with self.database.session() as session:
            return await grants.admin_token_by_hash(session, token_hash)

    async def _load_team(self, refs: str) -> TeamGrant | None:
        team_ref, _, user_ref = refs.partition("\n")
        async with self.database.session() as session:
            return await grants.team_grant(session, team_ref or None, user_ref or None)

    async def _load_denied(self, _: str) -> frozenset[str]:
        async with self.database.session() as session:
            return await grants.denied_jtis(session)
