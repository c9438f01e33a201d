"""Sending one request: deployment choice, retries with backoff, fallbacks across groups.

The plan is an ordered list of model groups (the requested one, then its fallbacks).
Within a group a failed attempt moves to another deployment (or the same one after an
exponential, jittered backoff); a 429 benches its deployment for its Retry-After, and
when nothing else can serve, the dispatcher waits that long itself if it is short
enough. A group whose attempts run out hands over to the next one. A failure that
repeats the previous attempt's exactly (`UpstreamError.repeats`) ends the group's attempts
at once: that request is retried once, not `max_attempts` times, wherever it is sent.
Health is counted per caller (`caller`: who sent the request), see `upstream.health`.

Each attempt has a deadline for its first byte (`upstream.deadlines`). Past it the
attempt counts as a failure and, if the deployment's deadlines say hedge, the same
request goes to another deployment of the group while the first keeps going: the first
answer wins and the other is cancelled, so the client, the limits, the budget and the
spend log see one answer. With hedging off the late attempt is given up on, as a
timeout, and the retries go on as for any failure; with no other deployment it is
waited for. A configured early hedge (`upstream.hedging`: at a percentile of the
deployment's latency, or after a fixed wait) sends the same one hedge sooner, without
counting anything against the first deployment.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, NamedTuple, Protocol, TypeVar

from llm_proxy.config.models import Retries
from llm_proxy.upstream.admission import Admission, Ticket
from llm_proxy.upstream.deadlines import deadline_s, policy_for
from llm_proxy.upstream.deployment import Deployment, Wire
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.hedging import hedge_after_s, hedge_for, trigger
from llm_proxy.upstream.registry import Registry
from llm_proxy.upstream.transports.base import Reply, Stream, Transport

T = TypeVar("T")
Call = Callable[[Transport, Deployment], Awaitable[T]]


class AttemptObserver(Protocol):
    """Wraps a group's `call` so each attempt is observed (telemetry's attempt spans)."""

    def __call__(self, call: Call[T], group: str) -> Call[T]: ...


# One per attempt and one per answer: tuples, which cost a third of what frozen
# dataclasses do to make.
class Attempt(NamedTuple):
    deployment: str
    group: str
    status: int
    duration_ms: float
    error: str | None = None


@dataclass(slots=True)
class Dispatch:
    """What the dispatcher learned on the way, for headers, the spend log and metrics."""

    attempts: list[Attempt] = field(default_factory=list)
    upstream_s: float = 0.0
    group: str | None = None
    deployment: Deployment | None = None
    # Deployments the request was hedged to, and what sent the last hedge: `deadline`
    # (an attempt missed it) or the early hedge's percentile or wait (`p95`, `250ms`).
    hedged_to: list[str] = field(default_factory=list)
    hedge_trigger: str | None = None
    # The tokens added to the answering deployment's window for the request before it
    # was sent: settle replaces them with the real count.
    estimated_tokens: int = 0

    @property
    def fallback_used(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].group != self.attempts[0].group


class Dispatched(NamedTuple, Generic[T]):
    result: T
    deployment: Deployment


class Dispatcher:
    def __init__(
        self, fast: Transport, translated: Transport, observe: AttemptObserver | None = None
    ) -> None:
        self.fast = fast
        self.translated = translated
        self.observe = observe
        self.admission = Admission()

    def transport_for(self, deployment: Deployment, wire: Wire = "openai") -> Transport:
        return self.fast if deployment.speaks(wire) else self.translated

    async def run(
        self,
        registry: Registry,
        plan: Sequence[str],
        call: Call[T],
        record: Dispatch,
        *,
        session: str | None = None,
        estimated_tokens: int = 0,
        wire: Wire = "openai",
        caller: str | None = None,
        regions: frozenset[str] | None = None,
        stream: bool = False,
        max_tokens: int | None = None,
        ticket: Ticket | None = None,
    ) -> Dispatched[T]:
        """`regions`: only deployments in these may be sent the request (residency).
        `ticket`: its class and team when policies queue requests (`upstream.admission`):
        it then waits for a saturated group in turn, and a 429 sends it back to the queue
        instead of using up an attempt, while its class's queue time lasts."""
        retries = registry.config.routing.retries
        record.estimated_tokens = estimated_tokens
        last_error: UpstreamError | None = None
        for group in plan:
            attempt = _Attempt(
                registry,
                group,
                call if self.observe is None else self.observe(call, group),
                record,
                session,
                estimated_tokens,
                wire,
                caller,
                stream,
                max_tokens,
                regions,
            )
            previous: UpstreamError | None = None
            number = 0
            while number < retries.max_attempts:
                if ticket is None:
                    deployment = await self._next(attempt, retries)
                else:
                    deployment = await self.admission.acquire(
                        registry,
                        group,
                        ticket,
                        estimated_tokens,
                        session,
                        attempt.tried,
                        caller,
                        regions,
                    )
                    if deployment is None:
                        last_error = _shed(ticket, group)
                if deployment is None:
                    break
                try:
                    return await self._hedged(attempt, deployment)
                except UpstreamError as error:
                    if not error.retryable:
                        raise
                    last_error = error
                    if error.throttled and ticket is not None:
                        # Saturation, not this request's failure: back in the queue, in turn.
                        continue
                    if error.repeats(previous):
                        break
                    previous = error
                    await self._backoff(number, retries, record)
                    number += 1
        if last_error is not None:
            raise last_error
        raise UpstreamError(
            503, f"no deployment of {plan[0]!r} can take requests now", kind="unavailable"
        )

    async def _hedged(self, attempt: _Attempt[T], first: Deployment) -> Dispatched[T]:
        """`first`'s answer; or, once it is late, the first answer of it and one hedge.

        Late is past the attempt's deadline (counted against `first`), or before it past
        the hedge's percentile or wait (`upstream.hedging`, counted against nothing). With
        hedging off, an attempt past its deadline is given up on (a timeout, retried
        elsewhere); with no other deployment to go to, it is waited for (up to the
        backend's timeout_s): a slow answer beats none."""
        if len(attempt.registry.groups.get(attempt.group, ())) == 1:
            # No other deployment to hedge or give up for: no timer could change anything,
            # so the attempt runs in this task, without one of its own to start and wait on.
            attempt.tried.append(first)
            return self._won(attempt, await self._attempt(attempt, first), first)
        running: dict[asyncio.Task[T], Deployment] = {}

        def launch(deployment: Deployment) -> None:
            attempt.tried.append(deployment)
            running[asyncio.ensure_future(self._attempt(attempt, deployment))] = deployment

        started = time.perf_counter()
        launch(first)
        # One deadline per attempt, then the first answer wins; one hedge per dispatch.
        deadline_at: float | None = started + attempt.deadline(first)
        hedge = attempt.early_hedge(first)
        hedge_at = None if hedge is None else started + hedge[0]
        hedged = False
        error: UpstreamError | None = None
        try:
            while running:
                timers = [at for at in (deadline_at, hedge_at) if at is not None]
                timeout = max(0.0, min(timers) - time.perf_counter()) if timers else None
                done, _ = await asyncio.wait(
                    running, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
                )
                if not done:
                    # Which timer ran out: the earlier one (the clock may read a hair early).
                    if deadline_at is not None and (hedge_at is None or deadline_at <= hedge_at):
                        deadline_at = None
                        other = self._past_deadline(attempt, first, started, hedged)
                        why = "deadline"
                    else:
                        assert hedge is not None  # the hedge's timer is the other one
                        hedge_at = None
                        other = None if hedged else self._other(attempt)
                        why = hedge[1]
                    if other is not None:
                        hedged, hedge_at = True, None
                        attempt.record.hedged_to.append(other.name)
                        attempt.record.hedge_trigger = why
                        launch(other)
                    continue
                for task in done:
                    deployment = running.pop(task)
                    failure = task.exception()
                    if failure is None:
                        return self._won(attempt, task.result(), deployment)
                    if not isinstance(failure, UpstreamError):
                        raise failure
                    error = failure
            assert error is not None
            raise error
        finally:
            await _cancel(running)

    def _past_deadline(
        self, attempt: _Attempt[T], first: Deployment, started: float, hedged: bool
    ) -> Deployment | None:
        """`first` sent nothing by its deadline: the deployment to hedge to, if any."""
        if hedged:
            self._missed(attempt, first, started)  # late too; the hedge is out already
            return None
        other = self._other(attempt)
        if other is None:
            # Nowhere else to go: the late one may still answer, and is not held against
            # its deployment for being slow when it is alone.
            return None
        self._missed(attempt, first, started)
        if not policy_for(attempt.registry.config, attempt.group, first).hedge:
            raise UpstreamError(504, f"{first.name}: no answer within its deadline", kind="timeout")
        return other

    def _missed(self, attempt: _Attempt[T], late: Deployment, since: float) -> None:
        """`late` sent nothing by its deadline: a stall, counted as its failure."""
        reason = f"{late.name}: no first byte within its deadline"
        _note(attempt.record, late, attempt.group, since, 504, reason)
        late.health.missed_deadline(reason, caller=attempt.caller)

    def _other(self, attempt: _Attempt[T]) -> Deployment | None:
        """A deployment of the group not tried yet that can take the request now."""
        other = attempt.registry.pick(
            attempt.group,
            attempt.session,
            attempt.tried,
            attempt.caller,
            attempt.regions,
            tokens=attempt.estimated_tokens,
        )
        return None if other is None or other in attempt.tried else other

    def _won(self, attempt: _Attempt[T], result: T, deployment: Deployment) -> Dispatched[T]:
        attempt.record.group = attempt.group
        attempt.record.deployment = deployment
        # in_flight stays raised: the pipeline lowers it when the answer is fully sent.
        return Dispatched(result, deployment)

    async def _next(self, attempt: _Attempt[T], retries: Retries) -> Deployment | None:
        registry, group, regions = attempt.registry, attempt.group, attempt.regions

        def pick() -> Deployment | None:
            return registry.pick(
                group,
                attempt.session,
                attempt.tried,
                attempt.caller,
                regions,
                tokens=attempt.estimated_tokens,
            )

        deployment = pick()
        patience = retries.max_retry_after_s
        while deployment is None:
            wait = registry.soonest_ready_s(group, regions)
            if wait is None or wait > patience:
                return None
            # Every deployment is sitting out a short Retry-After: honour it, then go on.
            # The millisecond covers timers that fire a hair early (uvloop's resolution).
            await _sleep(wait + 0.001, attempt.record)
            patience -= wait
            deployment = pick()
        return deployment

    async def _attempt(self, attempt: _Attempt[T], deployment: Deployment) -> T:
        health = deployment.health
        health.started()
        deployment.in_flight += 1
        deployment.usage.add(attempt.estimated_tokens)
        record, group, caller = attempt.record, attempt.group, attempt.caller
        started = time.perf_counter()
        try:
            result = await attempt.call(self.transport_for(deployment, attempt.wire), deployment)
        except UpstreamError as error:
            deployment.in_flight -= 1
            elapsed = _note(record, deployment, group, started, error.status, error.message)
            if error.throttled:
                health.throttled(error.retry_after_s or 1.0)
            elif error.retryable:
                health.failed(error.message, caller=caller)
            else:
                health.succeeded(elapsed * 1000, caller=caller)
            raise
        except BaseException:
            # Cancelled: the client left, or another attempt's answer won the race.
            deployment.in_flight -= 1
            deployment.usage.adjust(-attempt.estimated_tokens)
            health.released()
            raise
        elapsed = _note(record, deployment, group, started, 200, None)
        health.succeeded(elapsed * 1000, caller=caller)
        _observe(deployment, result, elapsed * 1000)
        return result

    async def _backoff(self, attempt: int, retries: Retries, record: Dispatch) -> None:
        ceiling = min(retries.backoff_max_ms, retries.backoff_base_ms * 2**attempt)
        await _sleep(random.uniform(0, ceiling) / 1000, record)


@dataclass(slots=True)
class _Attempt(Generic[T]):
    """One request's dispatch within one group: what every try of it needs."""

    registry: Registry
    group: str
    call: Call[T]
    record: Dispatch
    session: str | None
    estimated_tokens: int
    wire: Wire
    caller: str | None
    stream: bool
    max_tokens: int | None
    # Residency: a hedge goes only where the request may go.
    regions: frozenset[str] | None = None
    tried: list[Deployment] = field(default_factory=list)

    def deadline(self, deployment: Deployment) -> float:
        policy = policy_for(self.registry.config, self.group, deployment)
        observed = deployment.health.observed
        return deadline_s(policy, observed, stream=self.stream, max_tokens=self.max_tokens)

    def early_hedge(self, deployment: Deployment) -> tuple[float, str] | None:
        """When an attempt on `deployment` is hedged before its deadline, and why."""
        hedge = hedge_for(self.registry.config, self.group, deployment)
        if hedge is None:
            return None
        after = hedge_after_s(hedge, deployment, stream=self.stream, max_tokens=self.max_tokens)
        return None if after is None else (after, trigger(hedge))


def _observe(deployment: Deployment, result: object, elapsed_ms: float) -> None:
    """What the answer took, for the deployment's next deadlines."""
    if isinstance(result, Stream):
        deployment.health.observed.streamed(elapsed_ms)
    elif isinstance(result, Reply):
        deployment.health.observed.answered(elapsed_ms, result.usage.completion_tokens)


async def _cancel(running: dict[asyncio.Task[T], Deployment]) -> None:
    """Stop the attempts that lost; one that answered meanwhile is closed unread."""
    for task in running:
        task.cancel()
    outcomes = await asyncio.gather(*running, return_exceptions=True)
    for deployment, outcome in zip(running.values(), outcomes, strict=True):
        if isinstance(outcome, BaseException):  # cancelled or failed: nothing to give back
            continue
        deployment.in_flight -= 1
        if isinstance(outcome, Stream):
            aclose = getattr(outcome.events, "aclose", None)
            if aclose is not None:
                await aclose()


def _note(
    record: Dispatch,
    deployment: Deployment,
    group: str,
    started: float,
    status: int,
    error: str | None,
) -> float:
    elapsed = time.perf_counter() - started
    record.upstream_s += elapsed
    record.attempts.append(Attempt(deployment.name, group, status, elapsed * 1000, error))
    return elapsed


def _shed(ticket: Ticket, group: str) -> UpstreamError:
    return UpstreamError(
        429,
        f"{group!r} is saturated and `{ticket.cls}` requests could wait no longer "
        f"({ticket.queue_s:g} s): shed",
        kind="shed",
        retry_after_s=1.0,
    )


async def _sleep(seconds: float, record: Dispatch) -> None:
    record.upstream_s += seconds
    await asyncio.sleep(seconds)
