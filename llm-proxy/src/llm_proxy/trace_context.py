"""W3C trace context across process boundaries: read from the caller, written for callees.

Kept apart from `telemetry.tracing` (it imports nothing of the package) so the transports
and the router client can import it without the SDK or a cycle. The span that outgoing
calls name as their parent is held here (`current`), set by telemetry only around the
work that calls out (a calling stage, an upstream attempt). Until it is set (never when
tracing is off), `trace_headers` returns an empty dict without looking further:
propagation then costs one context-variable read.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar, Token

from opentelemetry.context import Context
from opentelemetry.trace import SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

# W3C trace context, what the gateway reads and passes on: its propagator itself, not the
# SDK's global composite one, which reads and writes baggage too (the gateway carries none).
_W3C = TraceContextTextMapPropagator()
# Tasks a request starts inherit it, so any outgoing call they make (upstream attempts,
# the router-service) carries the trace.
_CURRENT: ContextVar[SpanContext | None] = ContextVar("llm_proxy_current_span", default=None)


def extract(headers: Mapping[str, str]) -> Context:
    """The caller's trace context (`traceparent`, `tracestate`), empty if it sent none."""
    return _W3C.extract(headers) if "traceparent" in headers else Context()


def current() -> SpanContext | None:
    """The span outgoing calls made now name as their parent, if any."""
    return _CURRENT.get()


def enter(span: SpanContext) -> Token[SpanContext | None]:
    """Make `span` the parent of outgoing calls until `leave` with the token returned."""
    return _CURRENT.set(span)


def leave(token: Token[SpanContext | None]) -> None:
    _CURRENT.reset(token)


def span_headers(span: SpanContext) -> dict[str, str]:
    """`traceparent`/`tracestate` naming `span` as the parent, e.g. of a call made later on
    a request's behalf (shadow judging's), when that span is no longer current."""
    # What the W3C propagator's `inject` writes, without the Context and span objects it
    # makes to find `span` first (a fifth of an unsampled request's tracing, in-process).
    flags, state = span.trace_flags, span.trace_state
    headers = {"traceparent": f"00-{span.trace_id:032x}-{span.span_id:016x}-{flags:02x}"}
    if state:
        headers["tracestate"] = state.to_header()
    return headers


def trace_headers() -> dict[str, str]:
    """`traceparent`/`tracestate` of the current span for an outgoing request; {} when off."""
    span = _CURRENT.get()
    return {} if span is None else span_headers(span)
