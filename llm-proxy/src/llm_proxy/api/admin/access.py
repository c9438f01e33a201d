"""Who may call `/admin/*`: the master key (admin) or an admin token, ranked by role.

readonly reads everything; developer also manages its own team's virtual keys, within
what an admin set (see `api/admin/keys.py`); admin manages all (teams, users, budgets,
organizations, admin tokens, the cache, the config and its reloads).

A write's database session is tracked for the audit log (store.audit): whatever it
commits is recorded with who wrote it, the route, its request id (request_ids) and the
client address.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify_admin
from llm_proxy.store.audit import Actor, track
from llm_proxy.store.grants import AdminGrant, Role

_RANK: dict[Role, int] = {"readonly": 0, "developer": 1, "admin": 2}
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _at_least(minimum: Role) -> Callable[[Request], Awaitable[AdminGrant]]:
    async def check(request: Request) -> AdminGrant:
        gateway: Gateway = request.app.state.gateway
        caller = await identify_admin(dict(request.headers), gateway.master_key, gateway.directory)
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
Session = Annotated[AsyncSession, Depends(_session)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]
