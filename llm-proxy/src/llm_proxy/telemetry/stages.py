"""Timing one pipeline stage: milliseconds into `ctx.stage_ms`, and a span when tracing.

The timings are kept whether or not tracing is on, so the spend log can draw a request's
waterfall without a tracing backend. A request without a trace is timed by `Timing`: two
clock reads and a dict write (a `Stage` object's tracing fields cost it twice that).
On, a sampled request's stage is a span, recorded when it ends; stages that call out
(route: the router-service; dispatch: the upstream attempts) have theirs current while
they run (`Tracing.enter`), so those calls nest under them. An unsampled request's
calling stages make its root current instead, so the upstream is told it is not sampled.
"""

from __future__ import annotations

import time
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING

from opentelemetry.trace import SpanContext

from llm_proxy.trace_context import enter, leave

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.tracing import Entered, RequestTrace, Tracing

# Stages whose work includes calls to other services, which must see them as parent.
CALLING_STAGES = frozenset({"route", "dispatch", "cascade", "optimizer"})


class Timing:
    """A stage of a request that has no trace: its milliseconds, nothing else."""

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


class Stage:
    __slots__ = (
        "_calls",
        "_ctx",
        "_entered",
        "_name",
        "_started",
        "_started_ns",
        "_token",
        "_trace",
        "_tracing",
    )

    def __init__(self, ctx: RequestContext, name: str, tracing: Tracing | None) -> None:
        self._ctx = ctx
        self._name = name
        trace = ctx.span  # None unless tracing is on
        self._trace: RequestTrace | None = trace
        # Only requests whose trace is sampled pay for stage spans.
        self._tracing = tracing if trace is not None and trace.sampled else None
        self._calls = trace is not None and name in CALLING_STAGES
        self._entered: Entered | None = None
        self._token: Token[SpanContext | None] | None = None
        self._started = 0.0
        self._started_ns = 0

    def __enter__(self) -> None:
        tracing, trace = self._tracing, self._trace
        if self._calls and trace is not None:
            if tracing is not None:
                self._entered = tracing.enter(trace)
            else:
                self._token = enter(trace.context)
        if tracing is not None:
            self._started_ns = time.time_ns()
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        _add(self._ctx.stage_ms, self._name, self._started)
        if self._token is not None:
            leave(self._token)
        tracing, trace, entered = self._tracing, self._trace, self._entered
        if tracing is None or trace is None:
            return
        if entered is not None:
            tracing.leave(entered)
        problem = f"{type(error).__name__}: {error}" if error is not None else None
        span = entered.span if entered is not None else None
        tracing.record_stage(trace, self._name, self._started_ns, problem, span)


def _add(timings: dict[str, float], name: str, started: float) -> None:
    elapsed_ms = (time.perf_counter() - started) * 1000
    # A stage that runs more than once for a request (none does yet) adds up. To the
    # microsecond, as `round(ms, 3)` would have it: that goes through a decimal string
    # (about 0.5 µs, seven times a request), this through an integer.
    timings[name] = round((timings.get(name, 0.0) + elapsed_ms) * 1000) / 1000
