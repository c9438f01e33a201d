"""Timing one pipeline stage: milliseconds into `ctx.stage_ms`, and a span when tracing.

The timings are kept whether or not tracing is on, so the spend log can draw a request's
waterfall without a tracing backend. A request without a trace is timed by `Timing`: two
clock reads and a dict write; so is an unsampled one's, but for its calling stages
(`Passing`).
On, a sampled request's stage is a span, recorded when it ends; stages that call out
(route: the router-service; dispatch: the upstream attempts) have theirs current while
they run (`Tracing.enter`), so those calls nest under them. An unsampled request's
calling stages make its root current instead, so the upstream is told it is not sampled.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TYPE_CHECKING

from llm_proxy.trace_context import enter, leave

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.tracing import Entered, RequestTrace, Tracing

# Stages whose work includes calls to other services, which must see them as parent.
CALLING_STAGES = frozenset({"route", "dispatch", "cascade", "optimizer"})


class Timing:
    """A stage of a request with no sampled trace: its milliseconds, nothing else."""

    __slots__ = ("_ctx", "_name", "_started")

    def __init__(self, ctx: RequestContext, name: str) -> None:
        self._ctx = ctx
        self._name = name

    def __enter__(self) -> None:
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _add(self._ctx.stage_ms, self._name, self._started)


class Passing(Timing):
    """A calling stage of a request whose trace is not sampled: its milliseconds, and the
    root made current while it runs, so the services it calls are told (flag 00)."""

    __slots__ = ("_token", "_trace")

    def __init__(self, ctx: RequestContext, name: str, trace: RequestTrace) -> None:
        super().__init__(ctx, name)
        self._trace = trace

    def __enter__(self) -> None:
        self._token = enter(self._trace.context)
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _add(self._ctx.stage_ms, self._name, self._started)
        leave(self._token)


class Stage:
    """A stage of a sampled request: its milliseconds and its span."""

    __slots__ = ("_ctx", "_entered", "_name", "_started", "_started_ns", "_trace", "_tracing")

    def __init__(
        self, ctx: RequestContext, name: str, tracing: Tracing, trace: RequestTrace
    ) -> None:
        self._ctx = ctx
        self._name = name
        self._tracing = tracing
        self._trace = trace
        self._entered: Entered | None = None

    def __enter__(self) -> None:
        if self._name in CALLING_STAGES:
            self._entered = self._tracing.enter(self._trace)
        self._started_ns = time.time_ns()
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _add(self._ctx.stage_ms, self._name, self._started)
        tracing, entered = self._tracing, self._entered
        problem = f"{type(error).__name__}: {error}" if error is not None else None
        if entered is None:
            tracing.record_stage(self._trace, self._name, self._started_ns, problem)
            return
        tracing.leave(entered)
        tracing.record_stage(self._trace, self._name, self._started_ns, problem, entered.span)


def _add(timings: dict[str, float], name: str, started: float) -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    # A stage that runs more than once for a request (none does yet) adds up. To the
    # microsecond, as `round(ms, 3)` would have it: that goes through a decimal string
    # (about 0.5 µs, seven times a request), this through an integer.
    timings[name] = round((timings.get(name, 0.0) + elapsed_ms) * 1000) / 1000
