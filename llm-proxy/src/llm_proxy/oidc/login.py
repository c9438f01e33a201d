"""The dashboard's OIDC login: authorization code with PKCE (RFC 7636), as a relying party.

`start` makes a fresh state, nonce and code verifier and the provider's authorization URL;
the three travel in a short-lived cookie signed with a key derived from the master key (so
any replica can finish the login, and nothing is kept server-side for logins never
finished). `finish` checks the state against that cookie, trades the code (with the
verifier) at the token endpoint, and verifies the ID token: the provider's JWKS, issuer,
audience = the client id, expiry, and the login's nonce. The provider's metadata comes
from discovery, fetched once and kept.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import orjson

from llm_proxy.config.client_auth import DashboardSso, JwtAuth, JwtIssuer
from llm_proxy.config.secrets import resolve_setting
from llm_proxy.oidc.keys import TokenRejected
from llm_proxy.oidc.verifier import JwtVerifier, Principal

# A login must come back from the provider within this long.
PENDING_S = 600


def sso_login(config: DashboardSso | None, master_key: str) -> OidcLogin | None:
    if config is None:
        return None
    ref = config.client_secret_ref
    secret = resolve_setting(ref, "auth.sso.client_secret_ref") if ref else None
    return OidcLogin(config, secret, master_key.encode())


class LoginFailed(Exception):
    """The login cannot complete; the message says why (it is shown to the user)."""


@dataclass(frozen=True, slots=True)
class Started:
    url: str
    cookie: str


class OidcLogin:
    def __init__(self, config: DashboardSso, client_secret: str | None, signing: bytes) -> None:
        self.config = config
        self._secret = client_secret
        self._signing = hmac.new(signing, b"llm-gateway oidc login", hashlib.sha256).digest()
        self._client = httpx.AsyncClient(trust_env=False, timeout=config.timeout_s)
        self._metadata: dict[str, Any] | None = None
        self._verifier: JwtVerifier | None = None

    async def close(self) -> None:
        if self._verifier is not None:
            await self._verifier.close()
        await self._client.aclose()

    async def start(self) -> Started:
        metadata = await self._discovered()
        state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        verifier = secrets.token_urlsafe(48)
        challenge = _b64(hashlib.sha256(verifier.encode()).digest())
        query = {
            "response_type": "code",
            "client_id": self.config.client_id,
            "redirect_uri": self.config.redirect_uri,
            "scope": " ".join(self.config.scopes),
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        pending = {"s": state, "n": nonce, "v": verifier, "e": int(time.time()) + PENDING_S}
        url = f"{metadata['authorization_endpoint']}?{urlencode(query)}"
        return Started(url, self._sign(pending))

    async def finish(self, code: str, state: str, cookie: str | None) -> Principal:
        """Who logged in: the verified ID token's principal (roles, team)."""
        pending = self._opened(cookie)
        if not hmac.compare_digest(state.encode(), str(pending["s"]).encode()):
            raise LoginFailed("The login's state does not match; start the login again.")
        metadata = await self._discovered()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.config.redirect_uri,
            "client_id": self.config.client_id,
            "code_verifier": pending["v"],
        }
        if self._secret is not None:
            form["client_secret"] = self._secret
        try:
            answer = await self._client.post(metadata["token_endpoint"], data=form)
        except httpx.HTTPError as exc:
            raise LoginFailed(f"The identity provider could not be reached: {exc}") from exc
        if answer.status_code != 200:
            raise LoginFailed(f"The identity provider refused the code ({answer.status_code}).")
        id_token = _field(answer, "id_token")
        assert self._verifier is not None  # made by discovery
        try:
            principal = await self._verifier.verify(id_token)
        except TokenRejected as exc:
            raise LoginFailed(f"The ID token is not acceptable: {exc}") from exc
        if principal.nonce is None or not hmac.compare_digest(
            principal.nonce.encode(), str(pending["n"]).encode()
        ):
            raise LoginFailed("The ID token's nonce is not this login's.")
        return principal

    async def _discovered(self) -> dict[str, Any]:
        if self._metadata is not None:
            return self._metadata
        url = self.config.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            response = await self._client.get(url)
            response.raise_for_status()
            metadata = orjson.loads(response.content)
        except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
            raise LoginFailed(f"The identity provider's discovery failed: {exc}") from exc
        needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
        if not isinstance(metadata, dict) or any(
            not isinstance(metadata.get(k), str) for k in needed
        ):
            raise LoginFailed("The identity provider's discovery document lacks endpoints.")
        if metadata["issuer"] != self.config.issuer:
            raise LoginFailed("The identity provider names another issuer than configured.")
        issuer = JwtIssuer(
            issuer=self.config.issuer,
            jwks_url=metadata["jwks_uri"],
            audiences=[self.config.client_id],
            algorithms=self.config.algorithms,
            clock_skew_s=self.config.clock_skew_s,
            claims=self.config.claims,
            roles=self.config.roles,
        )
        self._verifier = JwtVerifier(JwtAuth(issuers=[issuer], verified_cache_size=0))
        self._metadata = metadata
        return metadata

    def _sign(self, pending: dict[str, Any]) -> str:
        body = _b64(orjson.dumps(pending))
        return f"{body}.{_b64(hmac.new(self._signing, body.encode(), hashlib.sha256).digest())}"

    def _opened(self, cookie: str | None) -> dict[str, Any]:
        body, _, signature = (cookie or "").partition(".")
        expected = _b64(hmac.new(self._signing, body.encode(), hashlib.sha256).digest())
        if not body or not hmac.compare_digest(signature.encode(), expected.encode()):
            raise LoginFailed("No login is under way in this browser; start the login again.")
        pending: dict[str, Any] = orjson.loads(base64.urlsafe_b64decode(body + "==="))
        if int(pending.get("e", 0)) < time.time():
            raise LoginFailed("The login took too long; start it again.")
        return pending


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _field(answer: httpx.Response, name: str) -> str:
    try:
        value = orjson.loads(answer.content).get(name)
    except (orjson.JSONDecodeError, AttributeError):
        value = None
    if not isinstance(value, str):
        raise LoginFailed(f"The identity provider's answer has no {name}.")
    return value
