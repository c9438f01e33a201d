"""Who may call `/admin/*`: the master key (admin), an admin token, or a dashboard session.

readonly reads everything; developer also manages its own team's virtual keys, within
what an admin set (see `api/admin/keys.py`); admin manages all (teams, users, budgets,
organizations, admin tokens, the cache, the config and its reloads).

A credential in a header wins over a session cookie. With the cookie (see
`api/admin/session.py`), every request that changes state must echo the session's CSRF
token in `x-csrf-token`, and the session is re-checked against what logged in (a revoked
token or key ends it at once). A virtual key's session has no admin grant: it reads its
own and its team's usage and logs (`Viewer`) and nothing else.

A write's database session is tracked for the audit log (store.audit): whatever it
commits is recorded with who wrote it, the route, its request id (request_ids) and the
client address.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import credential, identify_admin, master_admin
from llm_proxy.store.audit import Actor, track
from llm_proxy.store.grants import ROLES, AdminGrant, Role
from llm_proxy.store.models import DashboardSession
from llm_proxy.store.sessions import is_master_session, live_session, still_grants

SESSION_COOKIE = "gw_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_RANK: dict[Role, int] = {"readonly": 0, "developer": 1, "admin": 2}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, slots=True)
class Caller:
    """An admin caller (its grant), or a virtual key's session (the key and its team)."""

    grant: AdminGrant | None
    key_id: str | None = None
    team_id: str | None = None


async def caller_of(request: Request) -> Caller:
    gateway = gateway_of(request)
    headers = dict(request.headers)
    cookie = request.cookies.get(SESSION_COOKIE)
    if credential(headers) is None and cookie:
        return await _session_caller(request, cookie)
    return Caller(await identify_admin(headers, gateway.master_key, gateway.directory))


async def session_of(request: Request, cookie: str) -> DashboardSession | None:
    """The live session a cookie names whose login is still good, else None."""
    gateway = gateway_of(request)
    async with gateway.database.session() as session:
        row = await live_session(session, cookie)
        if row is None or not await still_grants(session, row, cookie, gateway.master_key):
            return None
        return row


async def _session_caller(request: Request, cookie: str) -> Caller:
    row = await session_of(request, cookie)
    if row is None:
        raise GatewayError(
            401, "Your dashboard session has ended; log in again.", code="session_expired"
        )
    if request.method not in _SAFE_METHODS:
        presented = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(presented.encode(), row.csrf_token.encode()):
            raise GatewayError(
                403,
                f"A change made with a session cookie needs its CSRF token in '{CSRF_HEADER}'.",
                code="csrf_failed",
            )
    return Caller(_session_grant(row), key_id=row.key_id, team_id=row.team_id)


def _session_grant(row: DashboardSession) -> AdminGrant | None:
    """What an admin login's session grants: its token's role and team (None for a key)."""
    role = next((r for r in ROLES if r == row.role), None)
    if role is None:
        return None
    if is_master_session(row):
        return master_admin()
    return AdminGrant(row.subject, role, row.expires_at, team_id=row.team_id)


def _at_least(minimum: Role) -> Callable[[Request], Awaitable[AdminGrant]]:
    async def check(request: Request) -> AdminGrant:
        caller = (await caller_of(request)).grant
        if caller is None:
            raise insufficient_role(
                "A virtual key's session may read only its own and its team's usage and logs."
            )
        if _RANK[caller.role] < _RANK[minimum]:
            raise insufficient_role(
                f"This admin token's role ({caller.role}) may not do this; "
                f"it needs {minimum} or above."
            )
        request.state.admin_caller = caller
        return caller

    return check


def insufficient_role(message: str) -> GatewayError:
    return GatewayError(403, message, code="insufficient_role")


def actor(request: Request) -> Actor | None:
    """The audit log's view of an authenticated admin request (None before the check)."""
    caller: AdminGrant | None = getattr(request.state, "admin_caller", None)
    if caller is None:
        return None
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path)
    client = request.client.host if request.client else None
    request_id: str = getattr(request.state, "request_id", "")
    return Actor(caller.token_id, caller.role, f"{request.method} {path}", request_id, client)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    gateway: Gateway = request.app.state.gateway
    async with gateway.database.session() as session:
        if request.method in _WRITES:
            track(session, lambda: actor(request))
        yield session


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


Readonly = Annotated[AdminGrant, Depends(_at_least("readonly"))]
Developer = Annotated[AdminGrant, Depends(_at_least("developer"))]
Admin = Annotated[AdminGrant, Depends(_at_least("admin"))]
# Any admin role, or a virtual key's session (which then sees only its own key and team).
Viewer = Annotated[Caller, Depends(caller_of)]
Session = Annotated[AsyncSession, Depends(_session)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]
