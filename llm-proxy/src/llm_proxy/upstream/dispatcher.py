"""Sending one request: deployment choice, retries with backoff, fallbacks across groups.

The plan is an ordered list of model groups (the requested one, then its fallbacks).
Within a group a failed attempt moves to another deployment (or the same one after an
exponential, jittered backoff); a 429 benches its deployment for its Retry-After, and
when nothing else can serve, the dispatcher waits that long itself if it is short
enough. A group whose attempts run out hands over to the next one. A failure that
repeats the previous attempt's exactly (`UpstreamError.repeats`) ends the group's attempts
at once: that request is retried once, not `max_attempts` times, wherever it is sent.
Health is counted per caller (`caller`: who sent the request), see `upstream.health`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from llm_proxy.config.models import Retries
from llm_proxy.upstream.deployment import Deployment, Wire
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.registry import Registry
from llm_proxy.upstream.transports.base import Transport

T = TypeVar("T")
Call = Callable[[Transport, Deployment], Awaitable[T]]


class AttemptObserver(Protocol):
    """Wraps a group's `call` so each attempt is observed (telemetry's attempt spans)."""

    def __call__(self, call: Call[T], group: str) -> Call[T]: ...


@dataclass(frozen=True, slots=True)
class Attempt:
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

    @property
    def fallback_used(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].group != self.attempts[0].group


@dataclass(frozen=True, slots=True)
class Dispatched(Generic[T]):
    result: T
    deployment: Deployment


class Dispatcher:
    def __init__(
        self, fast: Transport, translated: Transport, observe: AttemptObserver | None = None
    ) -> None:
        self.fast = fast
        self.translated = translated
        self.observe = observe

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
    ) -> Dispatched[T]:
        """`regions`: only deployments in these may be sent the request (residency)."""
        retries = registry.config.routing.retries
        last_error: UpstreamError | None = None
        for group in plan:
            group_call = call if self.observe is None else self.observe(call, group)
            tried: list[Deployment] = []
            previous: UpstreamError | None = None
            for attempt in range(retries.max_attempts):
                deployment = await self._next(
                    registry, group, session, tried, retries, record, caller, regions
                )
                if deployment is None:
                    break
                transport = self.transport_for(deployment, wire)
                try:
                    result = await self._attempt(
                        transport, deployment, group, group_call, record, estimated_tokens, caller
                    )
                except UpstreamError as error:
                    if not error.retryable:
                        raise
                    last_error = error
                    if error.repeats(previous):
                        break
                    previous = error
                    tried.append(deployment)
                    await self._backoff(attempt, retries, record)
                    continue
                return Dispatched(result, deployment)
        if last_error is not None:
            raise last_error
        raise UpstreamError(
            503, f"no deployment of {plan[0]!r} can take requests now", kind="unavailable"
        )

    async def _next(
        self,
        registry: Registry,
        group: str,
        session: str | None,
        tried: list[Deployment],
        retries: Retries,
        record: Dispatch,
        caller: str | None,
        regions: frozenset[str] | None,
    ) -> Deployment | None:
        deployment = registry.pick(group, session, tried, caller, regions)
        patience = retries.max_retry_after_s
        while deployment is None:
            wait = registry.soonest_ready_s(group, regions)
            if wait is None or wait > patience:
                return None
            # Every deployment is sitting out a short Retry-After: honour it, then go on.
            # The millisecond covers timers that fire a hair early (uvloop's resolution).
            await _sleep(wait + 0.001, record)
            patience -= wait
            deployment = registry.pick(group, session, tried, caller, regions)
        return deployment

    async def _attempt(
        self,
        transport: Transport,
        deployment: Deployment,
        group: str,
        call: Call[T],
        record: Dispatch,
        estimated_tokens: int,
        caller: str | None,
    ) -> T:
        health = deployment.health
        health.started()
        deployment.in_flight += 1
        deployment.usage.add(estimated_tokens)
        started = time.perf_counter()
        try:
            result = await call(transport, deployment)
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
            deployment.in_flight -= 1
            health.released()
            raise
        elapsed = _note(record, deployment, group, started, 200, None)
        health.succeeded(elapsed * 1000, caller=caller)
        record.group = group
        record.deployment = deployment
        # in_flight stays raised: the pipeline lowers it when the answer is fully sent.
        return result

    async def _backoff(self, attempt: int, retries: Retries, record: Dispatch) -> None:
        ceiling = min(retries.backoff_max_ms, retries.backoff_base_ms * 2**attempt)
        await _sleep(random.uniform(0, ceiling) / 1000, record)


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


async def _sleep(seconds: float, record: Dispatch) -> None:
    record.upstream_s += seconds
    await asyncio.sleep(seconds)
