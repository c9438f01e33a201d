"""One issuer's signing keys (its JWKS), held in memory and refreshed as the issuer rotates.

A token names its key by `kid`. A known kid costs a dict lookup. An unknown kid (the
issuer rotated in a new key) fetches the JWKS again, at most once per
`jwks_min_refresh_s`, so tokens with made-up kids cannot turn into a flood of requests
to the identity provider. Past `jwks_cache_ttl_s` the set is fetched again in the
background while the current keys keep serving; a failed fetch keeps the keys it had.
A key file is read again the same way, so rotating it needs no restart either.
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from llm_proxy.config.client_auth import JwtIssuer

log = logging.getLogger("llm_proxy.oidc")


class TokenRejected(Exception):
    """A token the gateway will not accept; the message says why (it reaches the client)."""


class KeysUnavailable(Exception):
    """The issuer's keys could not be had at all (never fetched, and fetching fails)."""


class IssuerKeys:
    def __init__(self, issuer: JwtIssuer, client: httpx.AsyncClient) -> None:
        self.issuer = issuer
        self._client = client
        self._jwks: dict[str, dict[str, Any]] = {}
        # Keys bound to an algorithm, made on first use: (kid, alg) → key.
        self._bound: dict[tuple[str, str], PyJWK] = {}
        self._loaded = False
        self._fetched_at = 0.0
        self._attempted_at = -float("inf")
        self._refreshing: asyncio.Task[None] | None = None
        # Bumped whenever the set changes: tokens verified against older keys are re-checked.
        self.generation = 0

    async def key(self, kid: str | None, alg: str) -> PyJWK:
        if not self._loaded:
            await self._refresh()
            if not self._loaded:
                raise KeysUnavailable(self.issuer.issuer)
        elif time.monotonic() - self._fetched_at > self.issuer.jwks_cache_ttl_s:
            self._refresh_in_background()
        found = self._find(kid)
        if found is None and self._may_refresh():
            await self._refresh()
            found = self._find(kid)
        if found is None:
            named = f"kid '{kid}'" if kid else "no kid"
            raise TokenRejected(
                f"The token's signing key ({named}) is not one of issuer "
                f"'{self.issuer.issuer}''s keys."
            )
        return self._bind(found, alg)

    async def close(self) -> None:
        if self._refreshing is not None:
            self._refreshing.cancel()

    def _find(self, kid: str | None) -> str | None:
        if kid is not None:
            return kid if kid in self._jwks else None
        # No kid: acceptable only when the issuer has a single key (no ambiguity).
        return next(iter(self._jwks)) if len(self._jwks) == 1 else None

    def _bind(self, kid: str, alg: str) -> PyJWK:
        bound = self._bound.get((kid, alg))
        if bound is not None:
            return bound
        jwk = self._jwks[kid]
        if jwk.get("alg") not in (None, alg):
            raise TokenRejected(
                f"The token says alg '{alg}' but its key (kid '{kid}') is for '{jwk['alg']}'."
            )
        try:
            bound = PyJWK(jwk, algorithm=alg)
        except (PyJWKError, ValueError, TypeError) as exc:
            raise TokenRejected(
                f"The token's key (kid '{kid}') cannot verify alg '{alg}' signatures."
            ) from exc
        if bound.Algorithm.check_key_length(bound.key) is not None:
            raise TokenRejected("The token's signing key is too weak for this gateway.")
        self._bound[(kid, alg)] = bound
        return bound

    def _may_refresh(self) -> bool:
        return time.monotonic() - self._attempted_at >= self.issuer.jwks_min_refresh_s

    def _refresh_in_background(self) -> None:
        if (self._refreshing is None or self._refreshing.done()) and self._may_refresh():
            self._refreshing = asyncio.create_task(self._refresh())

    async def _refresh(self) -> None:
        self._attempted_at = time.monotonic()
        try:
            document = await self._read()
            keys = _signing_keys(document)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("jwks for issuer %s could not be read: %s", self.issuer.issuer, exc)
            return
        self._fetched_at = time.monotonic()
        self._loaded = True
        if keys != self._jwks:
            self._jwks = keys
            self._bound = {}
            self.generation += 1

    async def _read(self) -> Any:
        if self.issuer.jwks_file is not None:
            raw = await asyncio.to_thread(Path(self.issuer.jwks_file).read_bytes)
            return orjson.loads(raw)
        assert self.issuer.jwks_url is not None
        response = await self._client.get(
            self.issuer.jwks_url, timeout=self.issuer.jwks_timeout_s, follow_redirects=False
        )
        response.raise_for_status()
        return orjson.loads(response.content)


def _signing_keys(document: Any) -> dict[str, dict[str, Any]]:
    """The JWKS's signature keys by kid; keys for encryption, and private halves, are dropped."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (an object with a 'keys' list)")
    keys: dict[str, dict[str, Any]] = {}
    for position, jwk in enumerate(document["keys"]):
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        public = {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}
        kid = jwk.get("kid")
        keys[kid if isinstance(kid, str) else f"#{position}"] = public
    return keys


# The private parts of RSA, EC and OKP keys: never kept, even if an issuer publishes them.
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
