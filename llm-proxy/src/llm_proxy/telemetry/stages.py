"""Timing one pipeline stage: milliseconds into `ctx.stage_ms`, and a span when tracing.

The timings are kept whether or not tracing is on, so the spend log can draw a request's
waterfall without a tracing backend. Off, a stage costs two clock reads and a dict write.
On, stages that call out (route: the router-service; dispatch: the upstream attempts)
are live spans, current while they run so those calls nest under them; the others are
recorded when they end, which costs half as much (see `Tracing.record_stage`).
"""

from __future__ import annotations

import time
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, StatusCode

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.tracing import Tracing

# Stages whose work includes calls to other services, which must see them as parent.
CALLING_STAGES = frozenset({"route", "dispatch", "cascade", "optimizer"})


class Stage:
    __slots__ = ("_ctx", "_name", "_span", "_started", "_started_ns", "_token", "_tracing")

    def __init__(self, ctx: RequestContext, name: str, tracing: Tracing | None) -> None:
        self._ctx = ctx
        self._name = name
        # Only requests whose trace is sampled pay for stage spans.
        recording = ctx.span is not None and ctx.span.is_recording()
        self._tracing = tracing if recording else None
        self._span: Span | None = None
        self._token: Token[Context] | None = None
        self._started = 0.0
        self._started_ns = 0

    def __enter__(self) -> None:
        tracing, parent = self._tracing, self._ctx.span
        if tracing is not None and parent is not None:
            if self._name in CALLING_STAGES:
                span = tracing.tracer.start_span(
                    self._name, context=trace.set_span_in_context(parent)
                )
                self._token = context.attach(trace.set_span_in_context(span))
                self._span = span
            else:
                self._started_ns = time.time_ns()
        self._started = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        elapsed_ms = (time.perf_counter() - self._started) * 1000
        timings = self._ctx.stage_ms
        # A stage that runs more than once for a request (none does yet) adds up.
        timings[self._name] = round(timings.get(self._name, 0.0) + elapsed_ms, 3)
        if self._tracing is None:
            return
        problem = f"{type(error).__name__}: {error}" if error is not None else None
        span = self._span
        if span is None:
            self._tracing.record_stage(self._ctx, self._name, self._started_ns, problem)
            return
        if problem is not None:
            span.set_status(StatusCode.ERROR, problem)
        if self._token is not None:
            context.detach(self._token)
        span.end()
