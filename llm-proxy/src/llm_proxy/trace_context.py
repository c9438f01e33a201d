"""W3C trace context across process boundaries: read from the caller, written for callees.

Kept apart from `telemetry.tracing` (it imports nothing of the package) so the transports
and the router client can import it without the SDK or a cycle. Until
`activate` runs in a request's task (only when tracing is on), `trace_headers` returns
an empty dict without looking at any span: propagation then costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar

from opentelemetry import propagate
from opentelemetry.context import Context
from opentelemetry.trace import Span, set_span_in_context

# Set in a request's task when its trace is live; tasks it starts inherit it, so any
# outgoing call they make (upstream attempts, the router-service) carries the trace.
_ACTIVE: ContextVar[bool] = ContextVar("llm_proxy_tracing_active", default=False)


def activate() -> None:
    _ACTIVE.set(True)


def extract(headers: Mapping[str, str]) -> Context:
    """The caller's trace context (`traceparent`, `tracestate`), if it sent one."""
    return propagate.extract(headers)


def span_headers(span: Span) -> dict[str, str]:
    """`traceparent`/`tracestate` naming `span` as the parent, e.g. of a call made later on
    a request's behalf (shadow judging's), when that span is no longer current."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=set_span_in_context(span))
    return carrier


def trace_headers() -> dict[str, str]:
    """`traceparent`/`tracestate` of the current span for an outgoing request; {} when off."""
    if not _ACTIVE.get():
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier
