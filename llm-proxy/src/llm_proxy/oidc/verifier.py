"""A bearer token from a trusted issuer, checked and read as a principal.

Checked: the issuer is configured; the header's `alg` is one the issuer allows (never
`none`, never HMAC: see config.client_auth); the signature verifies with the issuer's key
named by `kid`; `exp` is required, `exp`/`nbf`/`iat` hold within the clock skew; `aud`
names one of the issuer's audiences. Each failure is a `TokenRejected` saying which.

A verified token is remembered (bounded, until its `exp` or until its issuer's keys
change), so a client that sends the same token on every request pays the signature
check once. Revocation (the jti deny-list) is checked by the caller on every request.
"""

from __future__ import annotations

import binascii
import hashlib
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from llm_proxy.config.client_auth import GatewayRole, JwtAuth, JwtIssuer
from llm_proxy.oidc.claims import ClaimPath, names, text
from llm_proxy.oidc.keys import IssuerKeys, KeysUnavailable, TokenRejected

__all__ = ["JwtVerifier", "KeysUnavailable", "Principal", "TokenRejected", "looks_like_jwt"]

_GATEWAY_ROLES: tuple[GatewayRole, ...] = ("admin", "developer", "readonly")


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a verified token says the caller is, in the gateway's terms."""

    # A stable id for the (issuer, subject) pair, used where a virtual key's id would be.
    id: str
    issuer: str
    subject: str
    team: str | None
    user: str | None
    roles: tuple[GatewayRole, ...]
    # None: the token does not restrict models.
    allowed_models: tuple[str, ...] | None
    jti: str | None
    expires_at: float
    # An ID token's `nonce` (the dashboard login checks it against its own).
    nonce: str | None = None


def looks_like_jwt(credential: str) -> bool:
    """A compact JWS (three base64url parts, a JSON header): never a virtual key's shape."""
    return credential.startswith("eyJ") and credential.count(".") == 2


class _Issuer:
    def __init__(self, config: JwtIssuer, client: httpx.AsyncClient) -> None:
        self.config = config
        self.keys = IssuerKeys(config, client)
        mapping = config.claims
        self.subject = ClaimPath(mapping.subject)
        self.team = ClaimPath(mapping.team_id) if mapping.team_id else None
        self.user = ClaimPath(mapping.user_id) if mapping.user_id else None
        self.models = ClaimPath(mapping.allowed_models) if mapping.allowed_models else None
        self.roles = ClaimPath(mapping.roles) if mapping.roles else None


class JwtVerifier:
    def __init__(self, config: JwtAuth) -> None:
        self._client = httpx.AsyncClient(trust_env=False)
        self._issuers = {i.issuer: _Issuer(i, self._client) for i in config.issuers}
        self._max_cached = config.verified_cache_size
        # token → (its issuer's key generation when verified, principal)
        self._verified: dict[str, tuple[int, Principal]] = {}

    async def close(self) -> None:
        for issuer in self._issuers.values():
            await issuer.keys.close()
        await self._client.aclose()

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None:
            generation, principal = cached
            issuer = self._issuers[principal.issuer]
            skew = issuer.config.clock_skew_s
            if generation == issuer.keys.generation and time.time() < principal.expires_at + skew:
                return principal
            del self._verified[token]
        principal = await self._verify(token)
        if self._max_cached:
            if len(self._verified) >= self._max_cached:
                self._verified.clear()  # bounded; the next requests verify again
            generation = self._issuers[principal.issuer].keys.generation
            self._verified[token] = (generation, principal)
        return principal

    async def _verify(self, token: str) -> Principal:
        parts = _parts(token)
        claimed = parts.claims.get("iss")
        issuer = self._issuers.get(claimed) if isinstance(claimed, str) else None
        if issuer is None:
            raise TokenRejected(f"The token's issuer ({claimed!r}) is not one this gateway trusts.")
        config = issuer.config
        alg = parts.header.get("alg")
        if not isinstance(alg, str) or alg not in config.algorithms:
            raise TokenRejected(
                f"The token's algorithm ({alg!r}) is not allowed for issuer '{config.issuer}' "
                f"(allowed: {', '.join(config.algorithms)})."
            )
        if "crit" in parts.header:
            # RFC 7515 §4.1.11: extensions a verifier does not understand must be refused.
            raise TokenRejected("The token's header lists critical extensions ('crit').")
        kid = parts.header.get("kid")
        key = await issuer.keys.key(kid if isinstance(kid, str) else None, alg)
        if not key.Algorithm.verify(parts.signed, key.key, parts.signature):
            raise TokenRejected("The token's signature does not verify.")
        _check_claims(parts.claims, config)
        return _principal(issuer, parts.claims)


@dataclass(frozen=True, slots=True)
class _Parts:
    header: dict[str, Any]
    claims: dict[str, Any]
    # The bytes the signature covers: the header and claims segments as sent.
    signed: bytes
    signature: bytes


def _parts(token: str) -> _Parts:
    """A compact JWS read once: PyJWT's own `decode` checks each segment's alphabet one
    character at a time in Python (about 150 µs a token, six times the RSA check), so the
    segments are decoded here, strictly, and PyJWT's algorithms verify the signature."""
    segments = token.split(".")
    try:
        if len(segments) != 3:
            raise ValueError("not three segments")
        header = _header(segments[0])
        claims = _json(_base64url(segments[1]))
        signature = _base64url(segments[2])
    except ValueError:
        raise TokenRejected("The token is not a well-formed JWT.") from None
    signed = f"{segments[0]}.{segments[1]}".encode("ascii")
    return _Parts(header, claims, signed, signature)


# An issuer signs every token with one of a few headers ({alg, kid, typ}): each is decoded
# once. Bounded; a token's own header is never trusted beyond what it names.
_HEADERS: dict[str, dict[str, Any]] = {}
_MAX_HEADERS = 256


def _header(segment: str) -> dict[str, Any]:
    header = _HEADERS.get(segment)
    if header is None:
        header = _json(_base64url(segment))
        if len(_HEADERS) >= _MAX_HEADERS:
            _HEADERS.clear()
        _HEADERS[segment] = header
    return header


_URLSAFE = bytes.maketrans(b"-_", b"+/")


def _base64url(part: str) -> bytes:
    """base64url without padding, strictly: any other character or a dangling bit is an error."""
    if len(part) % 4 == 1 or "=" in part or "+" in part or "/" in part:
        raise ValueError("not base64url")
    try:
        data = part.encode("ascii").translate(_URLSAFE) + b"=" * (-len(part) % 4)
        return binascii.a2b_base64(data, strict_mode=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("not base64url") from exc


def _json(segment: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(segment)
    except orjson.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
    if not isinstance(value, dict):
        raise ValueError("not a JSON object")
    return value


def _check_claims(claims: dict[str, Any], config: JwtIssuer) -> None:
    """RFC 7519's registered claims: `exp` and `aud` required, times within the clock skew
    (the issuer, `iss`, was matched exactly to pick the key)."""
    now, skew = time.time(), config.clock_skew_s
    if claims.get("exp") is None or claims.get("aud") is None:
        name = "exp" if claims.get("exp") is None else "aud"
        raise TokenRejected(f"The token lacks the required claim '{name}'.")
    exp, nbf, iat = _number(claims, "exp"), _number(claims, "nbf"), _number(claims, "iat")
    if exp is not None and exp <= now - skew:
        raise TokenRejected("The token has expired.")
    if (nbf is not None and nbf > now + skew) or (iat is not None and iat > now + skew):
        raise TokenRejected("The token is not valid yet (its nbf or iat is in the future).")
    audience = claims["aud"]
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not set(config.audiences).intersection(
        a for a in audiences if isinstance(a, str)
    ):
        expected = ", ".join(config.audiences)
        raise TokenRejected(
            f"The token's audience is not this gateway's (expected one of: {expected})."
        )


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected(f"The token's '{name}' claim is not a NumericDate.")
    return float(value)


def _principal(issuer: _Issuer, claims: dict[str, Any]) -> Principal:
    config = issuer.config
    subject = text(issuer.subject.read(claims))
    if subject is None:
        raise TokenRejected(f"The token has no subject at '{issuer.subject.path}'.")
    team = text(issuer.team.read(claims)) if issuer.team else None
    if issuer.team is not None and team is None:
        raise TokenRejected(f"The token names no team at '{issuer.team.path}'.")
    roles: list[GatewayRole] = []
    for name in (names(issuer.roles.read(claims)) if issuer.roles else None) or ():
        role = config.roles.get(name) or next((r for r in _GATEWAY_ROLES if r == name), None)
        if role is not None and role not in roles:
            roles.append(role)
    models = names(issuer.models.read(claims)) if issuer.models else None
    if issuer.models is not None and models is not None and not models:
        # An empty list would read as "every model" further on: a present claim must grant some.
        raise TokenRejected(f"The token grants no models at '{issuer.models.path}'.")
    digest = hashlib.sha256(f"{config.issuer}\n{subject}".encode()).hexdigest()
    jti, nonce = claims.get("jti"), claims.get("nonce")
    return Principal(
        id=f"jwt_{digest[:24]}",
        issuer=config.issuer,
        subject=subject,
        team=team,
        user=text(issuer.user.read(claims)) if issuer.user else None,
        roles=tuple(roles),
        allowed_models=models,
        jti=jti if isinstance(jti, str) else None,
        expires_at=float(claims["exp"]),
        nonce=nonce if isinstance(nonce, str) else None,
    )
