"""Timing one pipeline stage: milliseconds into `ctx.stage_ms`, and a span when tracing.

The timings are kept whether or not tracing is on, so the spend log can draw a request's
waterfall without a tracing backend. Off, a stage costs two clock reads and a dict write.
"""

from __future__ import annotations

import time
from contextvars import Token
from types import TracebackType
from typing import TYPE_CHECKING

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, StatusCode, Tracer

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext


class Stage:
    __slots__ = ("_ctx", "_name", "_span", "_started", "_token", "_tracer")

    def __init__(self, ctx: RequestContext, name: str, tracer: Tracer | None) -> None:
        self._ctx = ctx
        self._name = name
        self._tracer = tracer
        self._span: Span | None = None
        self._token: Token[Context] | None = None
        self._started = 0.0

    def __enter__(self) -> None:
        parent = self._ctx.span
        if self._tracer is not None and parent is not None:
            span = self._tracer.start_span(self._name, context=trace.set_span_in_context(parent))
            # Current for the stage's duration, so calls it makes nest under it.
            self._token = context.attach(trace.set_span_in_context(span))
            self._span = span
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
        span = self._span
        if span is None:
            return
        if error is not None:
            span.set_status(StatusCode.ERROR, f"{type(error).__name__}: {error}")
        if self._token is not None:
            context.detach(self._token)
        span.end()
