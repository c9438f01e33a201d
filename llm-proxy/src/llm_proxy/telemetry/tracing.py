"""OpenTelemetry traces: one per request, with a span per stage and per upstream attempt.

Configured by the standard variables: `OTEL_TRACES_EXPORTER` (otlp | console | none),
`OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `…_HEADERS`, `…_TIMEOUT` (OTLP over HTTP/protobuf),
`OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`,
`OTEL_SDK_DISABLED`. `observability.tracing: true` in gateway.yaml turns OTLP export on
without them. Off, nothing here runs on the request path: no span is made and no
trace context is read from the request or written into the upstream one. On, a request
the sampler leaves out costs its root span's ids and the `traceparent` it passes on
(so the upstream knows too): no attributes, stage or attempt spans are made for it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar

from opentelemetry import context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    format_trace_id,
    get_current_span,
    set_span_in_context,
)

from llm_proxy.trace_context import activate, extract
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


class TracingConfigError(ValueError):
    pass


def tracing_from_env(enabled_in_config: bool) -> Tracing | None:
    """The configured tracing, or None when it is off (the default)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    default = "otlp" if enabled_in_config else "none"
    name = os.environ.get("OTEL_TRACES_EXPORTER", default).strip().lower() or default
    if name == "none":
        return None
    return Tracing(_exporter(name))


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        # stdout carries the JSON request log; spans must not interleave with it.
        return ConsoleSpanExporter(out=sys.stderr)
    if name != "otlp":
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={name!r} is not supported: use otlp, console or none"
        )
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol not in ("", "http/protobuf"):
        raise TracingConfigError(
            f"OTLP protocol {protocol!r} is not supported: the gateway exports http/protobuf"
        )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class Tracing:
    def __init__(self, exporter: SpanExporter) -> None:
        # Given here, a service name would override OTEL_SERVICE_NAME; only default it.
        attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {"service.name": "llm-proxy"}
        self._provider = TracerProvider(
            resource=Resource.create(attributes), shutdown_on_exit=False
        )
        self._processor = BatchSpanProcessor(exporter)
        self._provider.add_span_processor(self._processor)
        self.tracer: Tracer = self._provider.get_tracer("llm_proxy")
        self._scope = InstrumentationScope("llm_proxy")
        self._ids = RandomIdGenerator()

    def start_request(self, ctx: RequestContext, headers: Mapping[str, str]) -> None:
        """The request's root span, child of the caller's `traceparent` when it sent one."""
        span = self.tracer.start_span(
            ctx.api,
            context=extract(headers),
            kind=SpanKind.SERVER,
            attributes={"gateway.request_id": ctx.request_id},
        )
        ctx.span = span
        ctx.trace_id = format_trace_id(span.get_span_context().trace_id)
        if not span.is_recording():
            # No stage span will be current for it: the root itself is what outgoing
            # calls pass on (flagged unsampled). The request's task owns this context.
            context.attach(set_span_in_context(span))
        activate()

    def finish_request(self, ctx: RequestContext, outcome: Outcome) -> None:
        span = ctx.span
        if span is None:
            return
        if not span.is_recording():
            span.end()
            return
        operation = _OPERATIONS[ctx.api]
        span.update_name(f"{operation} {ctx.requested_model}".strip())
        attributes = _request_attributes(ctx, operation)
        attributes["gateway.cost_usd"] = outcome.cost_usd
        attributes["gateway.overhead_ms"] = round(outcome.overhead_s * 1000, 3)
        span.set_attributes(attributes)
        if ctx.status >= 500:
            span.set_status(StatusCode.ERROR, ctx.error)
        span.end()

    def record_stage(
        self, ctx: RequestContext, name: str, started_ns: int, problem: str | None
    ) -> None:
        """A finished stage's span, made from its times: no span object lives while it runs
        and none is made current, which is what a stage that calls nothing out can skip."""
        parent = ctx.span.get_span_context() if ctx.span is not None else None
        if parent is None or not parent.trace_flags.sampled:
            return
        span_context = SpanContext(
            parent.trace_id, self._ids.generate_span_id(), False, parent.trace_flags
        )
        status = Status(StatusCode.ERROR, problem) if problem else Status(StatusCode.UNSET)
        self._processor.on_end(
            ReadableSpan(
                name=name,
                context=span_context,
                parent=parent,
                resource=self._provider.resource,
                kind=SpanKind.INTERNAL,
                instrumentation_scope=self._scope,
                status=status,
                start_time=started_ns,
                end_time=time.time_ns(),
            )
        )

    def attempts(self, call: Call[T], group: str) -> Call[T]:
        """`call`, with one client span per upstream attempt it makes for `group`."""
        tracer = self.tracer
        number = 0

        async def attempt(transport: Transport, deployment: Deployment) -> T:
            nonlocal number
            if not get_current_span().is_recording():  # the request was not sampled
                return await call(transport, deployment)
            number += 1
            model = deployment.backend.model
            with tracer.start_as_current_span(
                f"attempt {deployment.name}",
                kind=SpanKind.CLIENT,
                attributes={
                    "gen_ai.system": deployment.provider,
                    "gen_ai.request.model": model,
                    "gateway.model_group": group,
                    "gateway.deployment": deployment.name,
                    "gateway.attempt": number,
                },
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                try:
                    result = await call(transport, deployment)
                except UpstreamError as error:
                    span.set_attribute("http.response.status_code", error.status)
                    span.set_attribute(
                        "error.type", str(error.status) if error.kind == "http" else error.kind
                    )
                    span.set_status(StatusCode.ERROR, error.message)
                    raise
                span.set_attribute("http.response.status_code", 200)
                return result

        return attempt

    def shutdown(self) -> None:
        """Export what is still queued, then stop the exporter thread."""
        self._provider.shutdown()


def _request_attributes(ctx: RequestContext, operation: str) -> dict[str, str | int | float]:
    attributes: dict[str, str | int | float] = {
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
