"""`GET /v1/teams/{id}/usage` and `GET /v1/keys/{id}/usage`: spend against budget, from the log.

Today and this month (UTC calendar windows, as budgets count them): requests, tokens and
cost, the budget's limits and how much of them is used, and the models that cost most.
A team's own keys may read its usage, a key its own; the master key and admin tokens any.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from llm_proxy.gateway import Gateway
from llm_proxy.identity import Identity
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import credential, identify, identify_admin
from llm_proxy.store.credentials import ADMIN_TOKEN_PREFIX
from llm_proxy.store.models import Budget, Team, VirtualKey
from llm_proxy.store.request_log import Scope, Totals, usage_by_model, usage_totals

router = APIRouter(tags=["Usage"])


class Window(BaseModel):
    since: datetime
    requests: int
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    cost_usd: float
    limit_usd: float | None
    pct_usd: float | None
    limit_tokens: int | None
    pct_tokens: float | None
    # model "auto": what sending the routed requests to their strong model would have cost
    # more than what they did.
    routing_saved_usd: float


class ModelUsage(BaseModel):
    model: str
    requests: int
    tokens: int
    cost_usd: float


class Usage(BaseModel):
    object: Literal["usage"] = "usage"
    scope: Scope
    id: str
    budget_id: str | None
    daily: Window
    monthly: Window
    top_models: list[ModelUsage]


@router.get("/v1/teams/{team_id}/usage", summary="A team's spend today and this month")
async def team_usage(team_id: str, request: Request) -> Usage:
    return await _usage_of(request, "team", team_id)


@router.get("/v1/keys/{key_id}/usage", summary="A virtual key's spend today and this month")
async def key_usage(key_id: str, request: Request) -> Usage:
    return await _usage_of(request, "key", key_id)


async def _usage_of(request: Request, scope: Literal["team", "key"], scope_id: str) -> Usage:
    gateway: Gateway = request.app.state.gateway
    identity = await _caller(request, gateway)
    if identity is not None:
        own = identity.team_id if scope == "team" else identity.key_id
        if own != scope_id:
            raise GatewayError(403, f"This API key may read only its own {scope}'s usage.")
    async with gateway.database.session() as session:
        owner: Team | VirtualKey | None = await session.get(
            Team if scope == "team" else VirtualKey, scope_id
        )
        if owner is None:
            raise GatewayError(404, f"No {scope} with id '{scope_id}'.", code="not_found")
        return await _usage(session, scope, scope_id, owner.budget_id)


async def _caller(request: Request, gateway: Gateway) -> Identity | None:
    """The calling virtual key's identity; None for callers who may read any usage."""
    headers = dict(request.headers)
    presented = credential(headers)
    if presented is not None and presented.startswith(ADMIN_TOKEN_PREFIX):
        await identify_admin(headers, gateway.master_key, gateway.directory)
        return None
    identity = await identify(headers, gateway.master_key, gateway.directory)
    return None if identity.is_master else identity


async def _usage(
    session: AsyncSession, scope: Scope, scope_id: str, budget_id: str | None
) -> Usage:
    now = datetime.now(UTC)
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    budget = await session.get(Budget, budget_id) if budget_id else None
    daily = await usage_totals(session, scope, scope_id, day)
    monthly = await usage_totals(session, scope, scope_id, month)
    models = await usage_by_model(session, scope, scope_id, month)
    return Usage(
        scope=scope,
        id=scope_id,
        budget_id=budget_id,
        daily=_window(
            day,
            daily,
            budget.usd_daily if budget else None,
            budget.tokens_daily if budget else None,
        ),
        monthly=_window(
            month,
            monthly,
            budget.usd_monthly if budget else None,
            budget.tokens_monthly if budget else None,
        ),
        top_models=[
            ModelUsage(
                model=m.model,
                requests=m.totals.requests,
                tokens=m.totals.tokens,
                cost_usd=m.totals.cost_usd,
            )
            for m in models
        ],
    )


def _window(
    since: datetime, totals: Totals, limit_usd: float | None, limit_tokens: int | None
) -> Window:
    return Window(
        since=since,
        requests=totals.requests,
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        tokens=totals.tokens,
        cost_usd=totals.cost_usd,
        limit_usd=limit_usd,
        pct_usd=_pct(totals.cost_usd, limit_usd),
        limit_tokens=limit_tokens,
        pct_tokens=_pct(totals.tokens, limit_tokens),
        routing_saved_usd=totals.routing_saved_usd,
    )


def _pct(used: float, limit: float | None) -> float | None:
    if not limit:
        return None
    return round(100 * used / limit, 2)
