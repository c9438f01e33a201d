"""The budget stage: reserve the request's estimated cost on its scopes' budgets.

Budgets are USD and tokens per calendar day and month (UTC), per key, team and user.
A scope is served while it is under its budget (so the request that crosses it is the
last one); past it, a scope naming `auto_downgrade_to` has its requests answered by that
cheaper model, still counted; any other answer is 429. Real cost is settled with the
rate limits (`LimitsStage.settle`), where thresholds crossed raise alerts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from llm_proxy.config.models import GatewayConfig
from llm_proxy.cost import cost_usd, nano_usd
from llm_proxy.identity import ScopeLimits
from llm_proxy.limits.counters import Charge, Counter, CounterState, Dimension, Enforce
from llm_proxy.limits.headers import go_duration, retry_after_s
from llm_proxy.limits.metrics import LimitsMetrics
from llm_proxy.limits.plan import budget_charges, budget_counters
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.limits import LimitsStage, downgrade
from llm_proxy.prices import Prices
from llm_proxy.usage import Usage

_BUDGET_FIELDS = (
    "budget_usd_daily",
    "budget_usd_monthly",
    "budget_tokens_daily",
    "budget_tokens_monthly",
)


class BudgetStage:
    def __init__(
        self,
        limits: LimitsStage,
        metrics: LimitsMetrics,
        config: Callable[[], GatewayConfig],
        prices: Callable[[str], Prices],
    ) -> None:
        """`prices`: a model group's (dearest) prices, for the cost reserved before routing."""
        self.limits = limits
        self.metrics = metrics
        self.config = config
        self.prices = prices

    async def reserve(self, ctx: RequestContext) -> None:
        # The scopes first: the master key has none, and most callers' set no budget, so
        # the config is read only when there is something to reserve.
        scopes = [s for s in ctx.identity.scopes if _has_budget(s)]
        if not scopes:
            return
        policy = self.config().limits
        if not policy.enabled:
            return
        refused = await self._reserve(ctx, scopes, frozenset())
        if not refused:
            return
        target = _downgrade_target(scopes, refused)
        if target is None or target == ctx.requested_model:
            self.metrics.budget_exceeded += 1
            raise budget_exceeded(refused)
        # Past its budget, the scope is served by the cheaper model it names: its rate
        # limits are taken again for that model, and its budget only counts from now on.
        self.limits.release(ctx)
        downgrade(ctx, target, policy)
        self.metrics.downgraded += 1
        await self.limits.reserve(ctx)
        past = frozenset(charge.counter.owner for charge, _ in refused)
        refused = await self._reserve(ctx, scopes, past)
        if refused:
            self.metrics.budget_exceeded += 1
            raise budget_exceeded(refused)

    async def _reserve(
        self, ctx: RequestContext, scopes: list[ScopeLimits], counted_only: frozenset[str]
    ) -> list[tuple[Charge, CounterState]]:
        """Reserve on every budget; what refused (nothing when admitted or unchecked)."""
        thresholds = self.config().limits.alerts.thresholds
        counters = budget_counters(scopes, tuple(thresholds) if thresholds else None, counted_only)
        if ctx.optimizer is not None:
            # An optimizer run's whole fan-out must fit in what is left: refused before its
            # first sub-call rather than let through to cross the budget on its last one.
            counters = [_fit(counter) for counter in counters]
        if not counters:
            return []
        guess = self.limits.estimated(ctx)
        prices = self.prices(self.limits.model_of(ctx))
        cost = nano_usd(cost_usd(prices, Usage(guess.input_tokens, guess.output_tokens)))
        charges = budget_charges(counters, guess, cost)
        lease = ctx.reservation.lease(ctx.request_id)
        verdict = await self.limits.check(charges, lease)
        if verdict is None:
            return []
        if verdict.admitted:
            ctx.reservation.hold(charges, verdict.at_ms, lease)
            return []
        return verdict.refused(charges)


def budget_exceeded(refused: list[tuple[Charge, CounterState]]) -> GatewayError:
    charge, state = max(refused, key=lambda pair: pair[1].wait_ms)
    counter = charge.counter
    if counter.dimension is Dimension.NANO_USD:
        spent = f"${state.used / 1e9:.6g} of ${counter.limit / 1e9:.6g}"
    else:
        spent = f"{state.used} of {counter.limit} tokens"
    period = "daily" if counter.key.rsplit(":", 1)[-1].startswith("d") else "monthly"
    message = (
        f"Budget exceeded for {counter.owner}: {spent} {period} budget used. "
        f"It resets in {go_duration(state.reset_ms)}."
    )
    return GatewayError(
        429,
        message,
        code="budget_exceeded",
        headers={"retry-after": str(retry_after_s(state.wait_ms))},
    )


def _fit(counter: Counter) -> Counter:
    return replace(counter, enforce=Enforce.FIT) if counter.enforce is Enforce.BELOW else counter


def _has_budget(scope: ScopeLimits) -> bool:
    return any(getattr(scope, name) is not None for name in _BUDGET_FIELDS)


def _downgrade_target(
    scopes: list[ScopeLimits], refused: list[tuple[Charge, CounterState]]
) -> str | None:
    """The cheaper model, when every scope past its budget names one (the first wins)."""
    owners = {charge.counter.owner for charge, _ in refused}
    targets = [s.auto_downgrade_to for s in scopes if f"{s.scope}:{s.id}" in owners]
    if not targets or any(t is None for t in targets):
        return None
    return targets[0]
