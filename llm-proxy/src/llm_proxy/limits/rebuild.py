"""Rebuild the budget counters from the request log, after Redis lost them.

Every key, team and user with a budget gets today's and this month's USD and token
counters back, under the same keys, in the same units and with the same expiries the
budget stage charges (`plan.budget_counters`), each raised to what the log says the
scope used — never lowered (see scripts/rebuild.lua).

Only calendar budgets are rebuilt. Rate-limit windows of a minute empty themselves
within that minute anyway, so a lost one forgives at most a minute's traffic, and the
log cannot say which reservations a window held. The sliding-day `tpd` windows are not
rebuilt either: after a loss they start again from zero.

What the log cannot give back exactly: each request's cost is kept as a float, while a
counter adds each request rounded up to a whole nano-USD, so a rebuilt USD total may
differ from the lost one by under a nano-USD per request. Alert markers are not rebuilt:
the log does not record which alerts went out, so a threshold already crossed alerts
again at the scope's next request — rather twice than never.
"""

from __future__ import annotations

from collections import Counter as Tally
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.config.models import GatewayConfig
from llm_proxy.cost import NANO_PER_USD
from llm_proxy.identity import ScopeLimits
from llm_proxy.limits.counters import Counter, Dimension
from llm_proxy.limits.periods import Period, this_month, today
from llm_proxy.limits.plan import budget_counters
from llm_proxy.limits.redis_store import RedisStore
from llm_proxy.store.database import Database
from llm_proxy.store.models import Budget, Team, User, VirtualKey
from llm_proxy.store.request_log import Scope, Totals, totals_by_scope

SCOPES: tuple[Scope, ...] = ("key", "team", "user")
# A one-off command, not the request path: it may wait for a busy Redis.
_REDIS_TIMEOUT_S = 10.0
_OWNERS: tuple[tuple[Scope, Any], ...] = (("key", VirtualKey), ("team", Team), ("user", User))


class NoCounterStore(Exception):
    """The config has no Redis: the counters live inside the gateway process."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """What a rebuild did for one kind of scope."""

    scope: Scope
    budgeted: int  # scopes of this kind with a budget
    raised: int  # counters written from the log
    kept: int  # counters that already held as much or more


async def rebuild_from_config(config: GatewayConfig) -> list[Rebuilt]:
    """Open the config's database and Redis, rebuild, close them."""
    if config.redis.url is None:
        raise NoCounterStore(
            "redis.url is not set: without Redis the counters live inside the gateway "
            "process and there is nothing to rebuild"
        )
    database = Database(config.database.url, pool_size=1)
    store = RedisStore(config.redis.url, config.redis.prefix, _REDIS_TIMEOUT_S)
    try:
        return await rebuild_budgets(database, store)
    finally:
        await store.close()
        await database.close()


async def rebuild_budgets(
    database: Database, store: RedisStore, now: datetime | None = None
) -> list[Rebuilt]:
    """Raise every budget counter of the current day and month to the log's totals."""
    now = now or datetime.now(UTC)
    day, month = today(now), this_month(now)
    async with database.session() as session:
        scopes = await _budgeted_scopes(session)
        used = {period.name: await _used_since(session, period) for period in (day, month)}
    counters = budget_counters(scopes, None, now=now)
    totals = [(c, _amount(c, used[_period_of(c)].get(c.owner))) for c in counters]
    # A counter the log has nothing for is absent in Redis too: nothing to write.
    totals = [(c, amount) for c, amount in totals if amount > 0]
    raised = await store.raise_periods(totals)
    return _summary(scopes, [c for c, _ in totals], raised)


async def _budgeted_scopes(session: AsyncSession) -> list[ScopeLimits]:
    scopes: list[ScopeLimits] = []
    for kind, model in _OWNERS:
        rows = await session.execute(
            select(model.id, Budget).join(Budget, model.budget_id == Budget.id)
        )
        for owner_id, budget in rows.tuples():
            scopes.append(
                ScopeLimits(
                    scope=kind,
                    id=owner_id,
                    budget_usd_daily=budget.usd_daily,
                    budget_usd_monthly=budget.usd_monthly,
                    budget_tokens_daily=budget.tokens_daily,
                    budget_tokens_monthly=budget.tokens_monthly,
                )
            )
    return scopes


async def _used_since(session: AsyncSession, period: Period) -> dict[str, Totals]:
    """Each scope's totals since the period began, by owner ("team:t_1"), as counters name it."""
    found = await totals_by_scope(session, period.start)
    return {f"{t.scope}:{t.scope_id}": t.totals for t in found}


def _period_of(counter: Counter) -> str:
    # Budget counter keys end with their period's name: budget:<owner>:<unit>:<period>.
    return counter.key.rsplit(":", 1)[-1]


def _amount(counter: Counter, totals: Totals | None) -> int:
    if totals is None:
        return 0
    if counter.dimension is Dimension.NANO_USD:
        return round(totals.cost_usd * NANO_PER_USD)
    return totals.tokens


def _summary(
    scopes: list[ScopeLimits], written: list[Counter], raised: list[bool]
) -> list[Rebuilt]:
    budgeted = Tally(s.scope for s in scopes)
    rose: Tally[str] = Tally()
    kept: Tally[str] = Tally()
    for counter, up in zip(written, raised, strict=True):
        kind = counter.owner.split(":", 1)[0]
        (rose if up else kept)[kind] += 1
    return [Rebuilt(kind, budgeted[kind], rose[kind], kept[kind]) for kind in SCOPES]
