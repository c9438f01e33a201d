"""The limits stage: reserve requests and tokens before dispatch, settle the real usage after.

One round trip to the counter store reserves on every counter that applies (the
caller's key, team and user limits and the config rules for the model), all or
nothing. Over a limit the request waits for room when the key may queue, moves to the
model's cheaper stand-in when the config names one, or is answered 429 with OpenAI's
`Retry-After` and `x-ratelimit-*` headers; admitted, those headers go on its response.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from llm_proxy.config.models import GatewayConfig, Limits
from llm_proxy.cost import nano_usd
from llm_proxy.limits.counters import (
    Charge,
    Counter,
    CounterState,
    Dimension,
    StoreUnavailable,
    Verdict,
)
from llm_proxy.limits.enforcer import Enforcer
from llm_proxy.limits.headers import go_duration, rate_limit_headers, retry_after_s
from llm_proxy.limits.leases import Lease
from llm_proxy.limits.metrics import LimitsMetrics
from llm_proxy.limits.plan import RateCounters, rate_charges
from llm_proxy.limits.reservation import Estimate
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.tokens import output_cap

# A queued request asks the counters again at least this often.
_QUEUE_POLL_S = 0.25

_WHAT = {
    Dimension.REQUESTS: "requests",
    Dimension.TOKENS: "tokens",
    Dimension.INPUT: "input tokens",
    Dimension.OUTPUT: "output tokens",
    Dimension.NANO_USD: "spend",
}


class LimitsStage:
    def __init__(
        self, enforcer: Enforcer, metrics: LimitsMetrics, config: Callable[[], GatewayConfig]
    ) -> None:
        self.enforcer = enforcer
        self.metrics = metrics
        self.config = config
        self._counters = RateCounters()

    async def reserve(self, ctx: RequestContext) -> None:
        policy = self.config().limits
        if not policy.enabled:
            return
        charges = self._charges(ctx, policy)
        if not charges:
            return  # no counter applies to this caller and model: nothing to reserve
        deadline = time.monotonic() + _queue_wait_s(policy, ctx)
        queued = False
        while True:
            lease = ctx.reservation.lease(ctx.request_id)
            verdict = await self.check(charges, lease)
            if verdict is None:
                return
            checked = list(zip(charges, verdict.states, strict=True))
            if verdict.admitted:
                ctx.reservation.hold(charges, verdict.at_ms, lease)
                ctx.rate_limit_headers = rate_limit_headers(checked)
                return
            if self._degrade(ctx, policy):
                charges = self._charges(ctx, policy)
                if not charges:
                    return
                continue
            refused = verdict.refused(charges)
            pause = _queue_pause(refused, deadline)
            if pause is None:
                self.metrics.rate_limited += 1
                ctx.limited_by = _dimension_label(refused[0][0].counter)
                raise rate_limited(refused, rate_limit_headers(checked))
            if not queued:
                self.metrics.queued += 1
                queued = True
            await asyncio.sleep(pause)

    async def check(self, charges: list[Charge], lease: Lease) -> Verdict | None:
        """The store's verdict; None when it is down and the gateway fails open."""
        try:
            return await self.enforcer.reserve(charges, lease)
        except StoreUnavailable:
            retry = str(math.ceil(self.config().limits.redis_retry_s) or 1)
            raise GatewayError(
                503,
                "Rate limits cannot be checked right now; please retry shortly.",
                code="limits_unavailable",
                headers={"retry-after": retry},
            ) from None

    def settle(self, ctx: RequestContext) -> None:
        """The charged usage and cost replace what was reserved, on every counter held."""
        reservation = ctx.reservation
        if reservation.held:
            self.enforcer.settle(reservation.close(ctx.usage, nano_usd(ctx.cost_usd)))

    def release(self, ctx: RequestContext) -> None:
        """Not served (refused later, upstream failure, client gone): give everything back."""
        self.enforcer.settle(ctx.reservation.close(None))

    def model_of(self, ctx: RequestContext) -> str:
        """The model the client means: aliases resolved, since rules name real models."""
        return self.config().routing.aliases.get(ctx.requested_model, ctx.requested_model)

    def estimated(self, ctx: RequestContext) -> Estimate:
        """The request's estimate, counted on first need: one that no counter charges
        counts here nothing (a cache hit then counts nothing at all)."""
        if not ctx.reservation.estimate.total_tokens:
            ctx.reservation.estimate = estimate(ctx, self.config().limits)
        return ctx.reservation.estimate

    def _charges(self, ctx: RequestContext, policy: Limits) -> list[Charge]:
        counters = self._counters(ctx.identity, policy, self.model_of(ctx))
        return rate_charges(counters, self.estimated(ctx)) if counters else []

    def _degrade(self, ctx: RequestContext, policy: Limits) -> bool:
        cheaper = policy.degrade_to.get(ctx.requested_model)
        if cheaper is None or ctx.downgraded_from is not None:
            return False
        downgrade(ctx, cheaper, policy)
        self.metrics.downgraded += 1
        return True


def downgrade(ctx: RequestContext, model: str, policy: Limits) -> None:
    """Answer with `model` instead; the response says which model was asked for."""
    if ctx.downgraded_from is None:
        ctx.downgraded_from = ctx.requested_model
    ctx.requested_model = model
    ctx.reservation.estimate = estimate(ctx, policy)


def estimate(ctx: RequestContext, policy: Limits) -> Estimate:
    """The prompt as counted (`ctx.prompt_tokens`); output at the request's cap, or the
    model's usual when unset.

    An optimizer run reserves its whole fan-out: every sub-call sends about the prompt and
    may write up to the cap.
    """
    if ctx.api == "embeddings":
        return Estimate(ctx.prompt_tokens, 0)
    calls = ctx.optimizer.expected_calls if ctx.optimizer is not None else 1
    return Estimate(ctx.prompt_tokens * calls, call_output_cap(ctx, policy) * calls)


def call_output_cap(ctx: RequestContext, policy: Limits) -> int:
    """The output tokens one call may write: its max_tokens, or the model's usual."""
    cap = output_cap(ctx.body)
    if cap is None:
        cap = policy.output_tokens_estimates.get(ctx.requested_model, policy.output_tokens_estimate)
    return cap


def _dimension_label(counter: Counter) -> str:
    """e.g. "requests_per_minute", "tokens_per_day": a bounded label for the metric."""
    per = "day" if counter.window_ms > 60_000 else "minute"
    return f"{counter.dimension.value}_per_{per}"


def rate_limited(
    refused: list[tuple[Charge, CounterState]], headers: dict[str, str]
) -> GatewayError:
    too_large = [pair for pair in refused if pair[1].wait_ms < 0]
    charge, state = too_large[0] if too_large else max(refused, key=lambda p: p[1].wait_ms)
    counter = charge.counter
    what = _WHAT[counter.dimension]
    per = "per day" if counter.window_ms > 60_000 else "per minute"
    if state.wait_ms < 0:
        message = (
            f"Request too large for {counter.owner}: it needs {charge.amount} {what}, "
            f"more than the limit of {counter.limit} {what} {per}."
        )
        wait_ms = state.reset_ms
    else:
        message = (
            f"Rate limit reached for {what} {per} on {counter.owner}: limit {counter.limit}, "
            f"used {state.used}, requested {charge.amount}. "
            f"Please try again in {go_duration(state.wait_ms)}."
        )
        wait_ms = state.wait_ms
    return GatewayError(
        429,
        message,
        code="rate_limit_exceeded",
        headers={**headers, "retry-after": str(retry_after_s(wait_ms))},
    )


def _queue_pause(refused: list[tuple[Charge, CounterState]], deadline: float) -> float | None:
    """How long a queued request sleeps before asking again; None: answer 429 now.

    It asks again well before the window frees room, since requests in flight that
    settle below their reservation give tokens back sooner; a request count is never
    given back early, so a request limit that frees too late is answered at once.
    """
    left_ms = (deadline - time.monotonic()) * 1000
    waits = [state.wait_ms for _, state in refused]
    too_late = any(
        charge.counter.dimension is Dimension.REQUESTS and state.wait_ms > left_ms
        for charge, state in refused
    )
    if left_ms <= 0 or min(waits) < 0 or too_late:
        return None
    return min(max(waits), _QUEUE_POLL_S * 1000, left_ms) / 1000


def _queue_wait_s(policy: Limits, ctx: RequestContext) -> float:
    queue = policy.queue
    if not queue.keys:
        return queue.max_wait_s
    return queue.max_wait_s if ctx.identity.key_id in queue.keys else 0.0
