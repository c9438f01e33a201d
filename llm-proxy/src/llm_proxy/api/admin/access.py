"""Who may call `/admin/*`: the master key (admin) or an admin token, ranked by role.

readonly reads everything; developer also manages virtual keys; admin manages all
(teams, users, budgets, organizations, admin tokens).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify_admin
from llm_proxy.store.grants import Role
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

_RANK: dict[Role, int] = {"readonly": 0, "developer": 1, "admin": 2}


def _at_least(minimum: Role) -> Callable[[Request], Awaitable[Role]]:
    async def check(request: Request) -> Role:
        gateway: Gateway = request.app.state.gateway
        role = await identify_admin(dict(request.headers), gateway.master_key, gateway.directory)
        if _RANK[role] < _RANK[minimum]:
            raise GatewayError(
                403,
                f"This admin token's role ({role}) may not do this; it needs {minimum} or above.",
                code="insufficient_role",
            )
        return role

    return check


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    gateway: Gateway = request.app.state.gateway
    async with gateway.database.session() as session:
        yield session


def gateway_of(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


Readonly = Annotated[Role, Depends(_at_least("readonly"))]
Developer = Annotated[Role, Depends(_at_least("developer"))]
Admin = Annotated[Role, Depends(_at_least("admin"))]
Session = Annotated[AsyncSession, Depends(_session)]
GatewayDep = Annotated[Gateway, Depends(gateway_of)]
