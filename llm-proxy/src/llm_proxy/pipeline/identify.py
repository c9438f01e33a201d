"""Who is calling: the master key, a virtual key, or a caller Kong vouches for.

The credential comes from `Authorization: Bearer` or `x-api-key`. Virtual keys are looked
up by their SHA-256 in the directory's in-process cache, so a known key costs no I/O.
Behind Kong, a request carrying the shared edge secret names its caller's key id in
`X-Consumer-Username` and the secret Kong matched in `X-Credential-Identifier`; without a
valid edge secret those headers are ignored.

With `auth.jwt`, a bearer credential shaped like a JWT is a signed token from a trusted
issuer instead (oidc.verifier): its claims name a team (whose limits and budget apply,
as for that team's keys), maybe a user, the models it may use; its subject stands where a
key's id would, for per-key limits, the cache scope and the spend log.

With mTLS (`gateway.tls.clients`), the certificate the handshake verified may name a
client (`:client-certificate`, set by api.client_cert, never by a client): one whose entry
does not require a key is that caller when the request carries no credential
(`cert_<name>`, its team's limits and budget); one that requires a key binds the key (or
token) to its team.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.exc import SQLAlchemyError

from llm_proxy.config.client_auth import ClientCertificate
from llm_proxy.identity import Identity
from llm_proxy.kong.consumers import credential_id
from llm_proxy.oidc.verifier import KeysUnavailable, Principal, TokenRejected, looks_like_jwt
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.store.directory import Directory
from llm_proxy.store.grants import AdminGrant, KeyGrant, Role, TeamGrant

EDGE_SECRET_HEADER = "x-gateway-edge-secret"
CONSUMER_HEADER = "x-consumer-username"
CREDENTIAL_HEADER = "x-credential-identifier"
# Not a header a client can send (the name has a colon): see api.client_cert.
CERTIFICATE_HEADER = ":client-certificate"
# Request headers identify reads; the API layer must keep them on the context.
HEADERS = (EDGE_SECRET_HEADER, CONSUMER_HEADER, CREDENTIAL_HEADER, CERTIFICATE_HEADER)

MASTER = Identity(is_master=True)
T = TypeVar("T")


def credential(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return headers.get("x-api-key") or None


def is_master(presented: str, master_key: str) -> bool:
    # Constant-time, so the comparison leaks nothing about how much of the key matched.
    return hmac.compare_digest(presented.encode(), master_key.encode())


async def identify(headers: dict[str, str], master_key: str, directory: Directory) -> Identity:
    client = directory.certificate(headers.get(CERTIFICATE_HEADER))
    if client is None:
        return await _by_credential(headers, master_key, directory)
    if not client.key_required and credential(headers) is None:
        return await _certified(client, directory)
    identity = await _by_credential(headers, master_key, directory)
    if client.key_required and client.team_id is not None and not identity.is_master:
        grant = await _lookup(directory.team_grant(client.team_id, None))
        if grant is None or grant.team_id is None or grant.team_id != identity.team_id:
            raise GatewayError(
                401,
                f"This client certificate ({client.name}) is only good with a key of team "
                f"'{client.team_id}'.",
                code="invalid_api_key",
            )
    return identity


async def _by_credential(
    headers: dict[str, str], master_key: str, directory: Directory
) -> Identity:
    if directory.edge_trusted(headers.get(EDGE_SECRET_HEADER)):
        key_id = headers.get(CONSUMER_HEADER)
        if key_id:
            grant = await _lookup(directory.key_by_id(key_id))
            return _usable(_edge_grant(grant, headers.get(CREDENTIAL_HEADER)))
    presented = _required(headers)
    if is_master(presented, master_key):
        return MASTER
    if directory.jwt is not None and looks_like_jwt(presented):
        return _token_identity(*await _signed(presented, directory))
    return _usable(await _lookup(directory.key_by_secret(presented)))


async def key_identity(key_id: str, directory: Directory) -> Identity:
    """A virtual key named by its id, as its own requests are identified: for calls the
    gateway makes on that key's account (shadow judging's)."""
    return _usable(await _lookup(directory.key_by_id(key_id)))


async def team_identity(team_ref: str, key_id: str, directory: Directory) -> Identity:
    """A team (by id or name) as a caller of its own under `key_id`: its limits and budget
    apply, as for the team's keys."""
    grant = await _lookup(directory.team_grant(team_ref, None))
    assert grant is not None  # a lookup always resolves to a grant, perhaps a refusal
    if grant.refusal is not None:
        raise GatewayError(401, grant.refusal, code="invalid_api_key")
    return Identity(key_id=key_id, key_prefix=key_id, team_id=grant.team_id, scopes=grant.scopes)


async def identify_admin(
    headers: dict[str, str], master_key: str, directory: Directory
) -> AdminGrant:
    """An `/admin/*` caller: the master key (admin), else an admin token's role and team."""
    presented = _required(headers)
    if is_master(presented, master_key):
        return master_admin()
    if directory.jwt is not None and looks_like_jwt(presented):
        return _token_admin(*await _signed(presented, directory))
    grant = await _lookup(directory.admin_token(presented))
    if grant is None:
        raise _invalid()
    _check_usable(grant.refusal, grant.valid_until, "admin token")
    return grant


def master_admin() -> AdminGrant:
    # Imported here: the store imports this package's types (see the TYPE_CHECKING note).
    from llm_proxy.store.grants import MASTER_ADMIN

    return MASTER_ADMIN


async def _lookup(pending: Awaitable[T]) -> T:
    """A cache miss reads the database; when that fails, the caller may retry (503)."""
    try:
        return await pending
    except (SQLAlchemyError, OSError) as exc:
        raise GatewayError(
            503,
            "The gateway cannot verify API keys right now; retry shortly.",
            code="auth_unavailable",
        ) from exc


async def _signed(token: str, directory: Directory) -> tuple[Principal, TeamGrant]:
    """A signed token, verified, not denied, with its team and user resolved."""
    assert directory.jwt is not None
    try:
        principal = await directory.jwt.verify(token)
    except TokenRejected as exc:
        raise GatewayError(401, str(exc), code="invalid_token") from None
    except KeysUnavailable as exc:
        raise GatewayError(
            503,
            f"The gateway cannot fetch the signing keys of issuer '{exc}' right now; "
            "retry shortly.",
            code="auth_unavailable",
        ) from None
    return principal, await _resolved(principal, directory)


async def _resolved(principal: Principal, directory: Directory) -> TeamGrant:
    if principal.jti is not None and principal.jti in await _lookup(directory.denied_tokens()):
        raise GatewayError(401, "This token has been revoked.", code="invalid_token")
    grant = await _lookup(directory.team_grant(principal.team, principal.user))
    assert grant is not None  # a lookup always resolves to a grant, perhaps a refusal
    if grant.refusal is not None:
        raise GatewayError(401, grant.refusal, code="invalid_token")
    return grant


async def principal_admin(principal: Principal, directory: Directory) -> AdminGrant:
    """A verified principal (a token at `/admin/*`, a dashboard SSO login) as an admin
    caller: not denied, its team usable, its highest mapped role."""
    return _token_admin(principal, await _resolved(principal, directory))


async def _certified(client: ClientCertificate, directory: Directory) -> Identity:
    grant = await _lookup(directory.team_grant(client.team_id, client.user_id))
    assert grant is not None  # a lookup always resolves to a grant, perhaps a refusal
    if grant.refusal is not None:
        raise GatewayError(401, grant.refusal, code="invalid_api_key")
    return Identity(
        key_id=f"cert_{client.name}",
        key_prefix="mtls",
        team_id=grant.team_id,
        user_id=grant.user_id,
        allowed_models=tuple(client.allowed_models),
        scopes=grant.scopes,
        optimizer_approaches=grant.optimizer_approaches,
    )


def _token_identity(principal: Principal, grant: TeamGrant) -> Identity:
    return Identity(
        key_id=principal.id,
        key_prefix="jwt",
        team_id=grant.team_id,
        user_id=grant.user_id,
        allowed_models=principal.allowed_models or (),
        scopes=grant.scopes,
        optimizer_approaches=grant.optimizer_approaches,
    )


_RANKED: tuple[Role, ...] = ("admin", "developer", "readonly")


def _token_admin(principal: Principal, grant: TeamGrant) -> AdminGrant:
    """A signed token at `/admin/*`: its highest mapped role (a developer's needs a team)."""
    role = next((r for r in _RANKED if r in principal.roles), None)
    if role == "developer" and grant.team_id is None:
        role = "readonly" if "readonly" in principal.roles else None
    if role is None:
        raise GatewayError(
            403,
            "This token carries no gateway role (admin, developer, readonly).",
            code="insufficient_role",
        )
    until = datetime.fromtimestamp(principal.expires_at, UTC)
    return AdminGrant(principal.id, role, until, team_id=grant.team_id)


def _edge_grant(grant: KeyGrant | None, credential: str | None) -> KeyGrant | None:
    """A key Kong matched by its rotated-out secret is good only until that grace ends.

    Kong may still hold such a credential (its config not yet synced, or pushed late), so
    the gateway checks the grace period itself rather than trusting Kong's copy.
    """
    if grant is None or credential is None or grant.previous_hash is None:
        return grant
    key_id = grant.identity.key_id or ""
    if credential != credential_id(key_id, grant.previous_hash):
        return grant
    if grant.refusal is not None:
        return grant  # revoked or disabled: that reason is the one to give
    ends = grant.previous_until
    if ends is None or ends <= datetime.now(UTC):
        raise GatewayError(
            401,
            "This API key has been rotated and its previous secret's grace period has ended.",
            code="invalid_api_key",
        )
    valid_until = ends if grant.valid_until is None else min(grant.valid_until, ends)
    return replace(grant, valid_until=valid_until)


def _usable(grant: KeyGrant | None) -> Identity:
    if grant is None:
        raise _invalid()
    _check_usable(grant.refusal, grant.valid_until, "API key")
    return grant.identity


def _check_usable(refusal: str | None, valid_until: datetime | None, noun: str) -> None:
    if refusal is not None:
        raise GatewayError(401, refusal, code="invalid_api_key")
    if valid_until is not None and valid_until <= datetime.now(UTC):
        raise GatewayError(401, f"This {noun} has expired.", code="invalid_api_key")


def _required(headers: dict[str, str]) -> str:
    presented = credential(headers)
    if presented is None:
        raise GatewayError(
            401,
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
            "or 'x-api-key: <key>'.",
        )
    return presented


def _invalid() -> GatewayError:
    return GatewayError(401, "Incorrect API key provided.", code="invalid_api_key")
