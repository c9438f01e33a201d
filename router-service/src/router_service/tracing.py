"""OpenTelemetry spans of the router-service, continuing the caller's trace.

Configured by the standard variables, as the gateway's tracing is: `OTEL_TRACES_EXPORTER`
(otlp | console | none; none by default), `OTEL_EXPORTER_OTLP_[TRACES_]ENDPOINT`, `…_HEADERS`,
`…_TIMEOUT` (OTLP over HTTP/protobuf), `OTEL_SERVICE_NAME` (default `router-service`),
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`, `OTEL_SDK_DISABLED`.
Off, no middleware is installed: the request path does not change. On, every HTTP request is
one SERVER span, the child of the caller's W3C `traceparent` (the gateway sends it with its
call to `POST /route` when its own tracing is on); `/route` adds its decision to it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Span names: the service's own routes; anything else is named by its method alone, so a
# client probing paths cannot multiply span names.
_ROUTES = frozenset(
    {"/route", "/v1/embeddings", "/health", "/admin/calibrate", "/admin/router/promote"}
)


class TracingConfigError(ValueError):
    pass


class Tracing:
    def __init__(self, exporter: SpanExporter) -> None:
        # Given here, a service name would override OTEL_SERVICE_NAME; only default it.
        named = os.environ.get("OTEL_SERVICE_NAME")
        attributes = {} if named else {"service.name": "router-service"}
        self._provider = TracerProvider(
            resource=Resource.create(attributes), shutdown_on_exit=False
        )
        self._provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer: Tracer = self._provider.get_tracer("router_service")

    def shutdown(self) -> None:
        """Export what is still buffered."""
        self._provider.shutdown()


def tracing_from_env() -> Tracing | None:
    """The configured tracing, or None when it is off (the default)."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower() or "none"
    if name == "none":
        return None
    if name == "console":
        return Tracing(ConsoleSpanExporter(out=sys.stderr))
    if name != "otlp":
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER={name!r} is not supported: use otlp, console or none"
        )
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    )
    if protocol not in ("", "http/protobuf"):
        raise TracingConfigError(f"OTLP protocol {protocol!r} is not supported: use http/protobuf")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return Tracing(OTLPSpanExporter())


def annotate(attributes: Mapping[str, Any]) -> None:
    """Add to the request's span (nothing happens when tracing is off)."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes(attributes)


class TraceRequests:
    """ASGI middleware: each HTTP request in a SERVER span, child of the caller's trace."""

    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        name = f"{method} {path}" if path in _ROUTES else method
        attributes = {"http.request.method": method, "url.path": path}
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with self.tracer.start_as_current_span(
            name, context=propagate.extract(headers), kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
