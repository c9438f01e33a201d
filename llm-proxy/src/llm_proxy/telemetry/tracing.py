"""OpenTelemetry traces: one per request, with a span per stage and per upstream attempt.

Configured by the standard variables: `OTEL_TRACES_EXPORTER` (otlp | console | none),
`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `…_HEADERS`, `…_TIMEOUT` (OTLP over HTTP/protobuf),
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`,
`OTEL_SDK_DISABLED`. `observability.tracing: true` in gateway.yaml turns OTLP export on
without them. Off, nothing here runs on the request path: no span is made and no
trace context is read from the request or written into the upstream one. On, a request
the sampler leaves out costs its root span's ids and the `traceparent` it passes on
(so the upstream knows too): no attributes, stage or attempt spans are made for it.

A span here is not the SDK's `Span` object (with its locks, attribute checks, events and
processor calls) but a tuple of its ids and times, kept on the request when it ends and
handed to the export thread (`span_export`) with the others when the request ends; the
SDK supplies the sampler, the resource and the ids. What is current for outgoing calls is
a context variable of `trace_context`, set only around the stages that call out and the
attempts.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import TYPE_CHECKING, NamedTuple, TypeVar

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.trace import (
    SpanContext,
    SpanKind,
    TraceFlags,
    format_trace_id,
    get_current_span,
)
from opentelemetry.util.types import AttributeValue

from llm_proxy.telemetry.span_export import (
    CLIENT,
    INTERNAL,
    SERVER,
    ConsoleSink,
    OtlpSink,
    SpanExport,
    SpanRecord,
    SpanSink,
    TraceSpans,
    TracingConfigError,
)
from llm_proxy.trace_context import current, enter, extract, leave
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.dispatcher import Call
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.transports.base import Transport

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.outcome import Outcome

T = TypeVar("T")

# GenAI semantic conventions name the operation, not our endpoint.
_OPERATIONS = {
    "chat": "chat",
    "messages": "chat",
    "responses": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
}
_SCOPE = "llm_proxy"
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)

__all__ = ["RequestTrace", "Tracing", "TracingConfigError", "tracing_from_env"]


def tracing_from_env(enabled_in_config: bool) -> Tracing | None:
    """The configured tracing, or None when it is off (the default)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    default = "otlp" if enabled_in_config else "none"
    name = os.environ.get("OTEL_TRACES_EXPORTER", default).strip().lower() or default
    if name == "none":
        return None
    if name not in ("otlp", "console"):
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={name!r} is not supported: use otlp, console or none"
        )
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if name == "otlp" and protocol not in ("", "http/protobuf"):
        raise TracingConfigError(
            f"OTLP protocol {protocol!r} is not supported: the gateway exports http/protobuf"
        )
    return Tracing(OtlpSink if name == "otlp" else ConsoleSink)


class RequestTrace:
    """A request's root span while it runs (`ctx.span`): what its children and outgoing
    calls name as parent, the caller's span it continues, when it began, and (sampled)
    the spans that ended so far, which go to the export with the root's when it ends."""

    __slots__ = ("context", "finished", "parent", "sampled", "spans", "started_ns")

    def __init__(self, context: SpanContext, parent: SpanContext | None) -> None:
        self.context = context
        self.parent = parent
        self.sampled = context.trace_flags.sampled
        self.started_ns = time.time_ns()
        self.spans: list[SpanRecord] = []
        self.finished = False


# The request whose calling stage runs (sampled only), for the attempts it makes: they
# are wrapped by the dispatcher, which knows nothing of the request.
_REQUEST: ContextVar[RequestTrace | None] = ContextVar("llm_proxy_traced_request", default=None)


class Entered(NamedTuple):
    """A sampled stage's span, current for outgoing calls while it runs (`Tracing.enter`)."""

    span: SpanContext
    outgoing: Token[SpanContext | None]
    request: Token[RequestTrace | None]


class Tracing:
    def __init__(self, sink: type[OtlpSink | ConsoleSink]) -> None:
        # Given here, a service name would override OTEL_SERVICE_NAME; only default it.
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "llm-proxy"}
        # The SDK's provider reads OTEL_TRACES_SAMPLER[_ARG] and the resource variables:
        # its sampler and resource are what this takes of it (it makes no span here).
        provider = TracerProvider(resource=Resource.create(attributes), shutdown_on_exit=False)
        self._sampler = provider.sampler
        self._ids = RandomIdGenerator()
        exporter: SpanSink = sink(provider.resource, _SCOPE)
        self._export = SpanExport(exporter)

    def start_request(self, ctx: RequestContext, headers: Mapping[str, str]) -> None:
        """The request's root span, child of the caller's `traceparent` when it sent one."""
        caller = extract(headers)
        parent: SpanContext | None = get_current_span(caller).get_span_context()
        if parent is not None and parent.is_valid:
            trace_id = parent.trace_id
        else:
            trace_id, parent = self._ids.generate_trace_id(), None
        decided = self._sampler.should_sample(caller, trace_id, ctx.api, SpanKind.SERVER)
        flags = _SAMPLED if decided.decision is Decision.RECORD_AND_SAMPLE else _NOT_SAMPLED
        span_id = self._ids.generate_span_id()
        root = SpanContext(trace_id, span_id, False, flags, decided.trace_state)
        ctx.span = RequestTrace(root, parent)
        ctx.trace_id = format_trace_id(trace_id)

    def finish_request(self, ctx: RequestContext, outcome: Outcome) -> None:
        trace = ctx.span
        if trace is None or not trace.sampled:
            return
        operation = _OPERATIONS[ctx.api]
        attributes = _request_attributes(ctx, operation)
        attributes["gateway.cost_usd"] = outcome.cost_usd
        attributes["gateway.overhead_ms"] = round(outcome.overhead_s * 1000, 3)
        root, parent = trace.context, trace.parent
        trace.spans.append(
            (
                root.span_id,
                parent.span_id if parent is not None else 0,
                parent is not None and parent.is_remote,
                f"{operation} {ctx.requested_model}".strip(),
                SERVER,
                trace.started_ns,
                time.time_ns(),
                attributes,
                (ctx.error or "") if ctx.status >= 500 else None,
            )
        )
        trace.finished = True
        self._export.add(TraceSpans(root.trace_id, root.trace_state, trace.spans))

    def enter(self, trace: RequestTrace) -> Entered:
        """A new span under the request's root, current for outgoing calls (and the
        attempts) until `leave`."""
        span = self._child(trace.context)
        return Entered(span, enter(span), _REQUEST.set(trace))

    def leave(self, entered: Entered) -> None:
        _REQUEST.reset(entered.request)
        leave(entered.outgoing)

    def record_stage(
        self,
        trace: RequestTrace,
        name: str,
        started_ns: int,
        problem: str | None,
        span: SpanContext | None = None,
    ) -> None:
        """A sampled request's finished stage: `span` names it when it was current while
        it ran (`enter`); a stage that was not gets its id only now."""
        span_id = span.span_id if span is not None else self._ids.generate_span_id()
        root_id, ended = trace.context.span_id, time.time_ns()
        self._ended(
            trace, (span_id, root_id, False, name, INTERNAL, started_ns, ended, None, problem)
        )

    def attempts(self, call: Call[T], group: str) -> Call[T]:
        """`call`, with one client span per upstream attempt it makes for `group`."""
        number = 0

        async def attempt(transport: Transport, deployment: Deployment) -> T:
            nonlocal number
            trace, parent = _REQUEST.get(), current()
            # An unsampled request's stage makes only its root current (flagged so).
            if trace is None or parent is None or not parent.trace_flags.sampled:
                return await call(transport, deployment)
            number += 1
            span = self._child(parent)
            attributes: dict[str, AttributeValue] = {
                "gen_ai.system": deployment.provider,
                "gen_ai.request.model": deployment.backend.model,
                "gateway.model_group": group,
                "gateway.deployment": deployment.name,
                "gateway.attempt": number,
            }
            problem: str | None = None
            started_ns = time.time_ns()
            token = enter(span)
            try:
                result = await call(transport, deployment)
            except UpstreamError as error:
                attributes["http.response.status_code"] = error.status
                attributes["error.type"] = str(error.status) if error.kind == "http" else error.kind
                problem = error.message
                raise
            else:
                attributes["http.response.status_code"] = 200
                return result
            finally:
                leave(token)
                name = f"attempt {deployment.name}"
                ended = time.time_ns()
                record = (span.span_id, parent.span_id, False, name, CLIENT, started_ns, ended)
                self._ended(trace, (*record, attributes, problem))

        return attempt

    def _child(self, parent: SpanContext) -> SpanContext:
        return SpanContext(
            parent.trace_id, self._ids.generate_span_id(), False, _SAMPLED, parent.trace_state
        )

    def _ended(self, trace: RequestTrace, span: SpanRecord) -> None:
        if not trace.finished:
            trace.spans.append(span)
            return
        # Ended after its request (nothing does yet): it goes out on its own.
        self._export.add(TraceSpans(trace.context.trace_id, trace.context.trace_state, [span]))

    def shutdown(self) -> None:
        """Export what is still queued, then stop the exporter thread."""
        self._export.shutdown()


def _request_attributes(ctx: RequestContext, operation: str) -> dict[str, str | int | float]:
    attributes: dict[str, str | int | float] = {
        "gateway.request_id": ctx.request_id,
        "gen_ai.operation.name": operation,
        "gen_ai.request.model": ctx.requested_model,
        "gen_ai.usage.input_tokens": ctx.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": ctx.usage.completion_tokens,
        "http.response.status_code": ctx.status,
        "gateway.attempts": len(ctx.dispatch.attempts),
    }
    deployment = ctx.dispatch.deployment
    if deployment is not None:
        attributes["gen_ai.system"] = deployment.provider
        attributes["gen_ai.response.model"] = deployment.backend.model
        attributes["gateway.deployment"] = deployment.name
    if ctx.dispatch.group is not None:
        attributes["gateway.model_group"] = ctx.dispatch.group
    if ctx.dispatch.fallback_used:
        attributes["gateway.fallback_from"] = ctx.dispatch.attempts[0].group
    for name in ("max_tokens", "temperature", "top_p"):
        value = ctx.body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attributes[f"gen_ai.request.{name}"] = value
    attributes.update(_caller_attributes(ctx))
    return attributes


def _caller_attributes(ctx: RequestContext) -> dict[str, str | int | float]:
    """Who called and how the gateway decided: ids and scores, never a key or a prompt."""
    attributes: dict[str, str | int | float] = {}
    identity = ctx.identity
    for name, value in (
        ("gateway.team_id", identity.team_id),
        ("gateway.key_id", identity.key_id),
        ("gateway.user_id", identity.user_id),
    ):
        if value is not None:
            attributes[name] = value
    if ctx.cache_result is not None:
        attributes["gateway.cache"] = ctx.cache_result
    route = ctx.route
    if route is not None:
        attributes["gateway.route.model"] = route.model
        if route.score is not None:
            attributes["gateway.route.score"] = route.score
        if route.router is not None:
            attributes["gateway.route.router"] = route.router
        if route.fallback_reason is not None:
            attributes["gateway.route.fallback"] = route.fallback_reason
    if ctx.error is not None:
        attributes["error.type"] = str(ctx.status)
    return attributes
