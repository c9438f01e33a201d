"""Finished spans to the collector: a queue, one thread, OTLP/HTTP protobuf in batches.

The request path hands a request's spans over together when it ends (`SpanExport.add`:
one `TraceSpans`, its spans plain tuples) and goes on. The thread wakes every
OTEL_BSP_SCHEDULE_DELAY ms, or as soon as OTEL_BSP_MAX_EXPORT_BATCH_SIZE spans wait, and
sends all that is queued, about that many spans (whole requests) to a post. Spans beyond
OTEL_BSP_MAX_QUEUE_SIZE waiting are dropped, with a warning, as the SDK's are.

`OtlpSink` writes the records straight into the opentelemetry-proto messages, a batch
under one resource and one scope, and posts them with the OTLP exporter's own HTTP client
(endpoint, headers, timeout, compression, TLS and retries from OTEL_EXPORTER_OTLP_*).
The SDK's encoder (`encode_spans`) goes through its span objects and a helper per field:
measured on a request's 11 spans, 180 µs against 35 µs here. `ConsoleSink` prints them
as the SDK's console exporter does (for debugging; its cost does not matter).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, SpanFlags
from opentelemetry.proto.trace.v1.trace_pb2 import Status as SpanStatus
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import ConsoleSpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState
from opentelemetry.util.types import AttributeValue

_logger = logging.getLogger(__name__)

# A span's kind as OTLP numbers it, what a record carries: looking a SpanKind up in a
# dict went through the enum's Python-level __hash__, once a span.
INTERNAL, SERVER, CLIENT = Span.SPAN_KIND_INTERNAL, Span.SPAN_KIND_SERVER, Span.SPAN_KIND_CLIENT
_SDK_KINDS: dict[int, SpanKind] = {
    INTERNAL: SpanKind.INTERNAL,
    SERVER: SpanKind.SERVER,
    CLIENT: SpanKind.CLIENT,
}
# The AnyValue field each plain attribute type goes in (by exact type: a bool is an int
# to isinstance); other types go through `_put_value`.
_VALUE_FIELDS: dict[type, str] = {
    str: "string_value",
    bool: "bool_value",
    int: "int_value",
    float: "double_value",
}
# As the SDK flags them: whether the parent is remote is known, and whether it is.
_LOCAL_PARENT = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_REMOTE_PARENT = _LOCAL_PARENT | SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK


class TracingConfigError(ValueError):
    pass


# One finished, sampled span, as the export needs it and no more (a plain tuple: the
# request path makes about ten a request): span id, parent span id (0: a root whose caller
# named none), whether the parent is remote, name, kind (INTERNAL, SERVER or CLIENT
# above), start and end (ns since the epoch), attributes, and the problem that makes its
# status ERROR (None: no error).
SpanRecord = tuple[
    int, int, bool, str, int, int, int, Mapping[str, AttributeValue] | None, str | None
]


class TraceSpans(NamedTuple):
    """Spans of one trace that go out together: a request's, when it has ended."""

    trace_id: int
    trace_state: TraceState
    spans: Sequence[SpanRecord]


class SpanSink(Protocol):
    def export(self, traces: Sequence[TraceSpans]) -> None: ...

    def shutdown(self) -> None: ...


class SpanExport:
    def __init__(self, sink: SpanSink) -> None:
        self._sink = sink
        self._delay_s = _setting("OTEL_BSP_SCHEDULE_DELAY", 5000) / 1000
        # Eight times the SDK's defaults (512, 2048): a post costs 0.4-0.7 ms of CPU in
        # the exporter's HTTP client whatever its size, 12 µs a request at 512 spans.
        self._batch = _setting("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", 4096)
        self._queue_size = _setting("OTEL_BSP_MAX_QUEUE_SIZE", 16384)
        self._timeout_s = _setting("OTEL_BSP_EXPORT_TIMEOUT", 30000) / 1000
        if self._batch > self._queue_size:
            raise TracingConfigError(
                "OTEL_BSP_MAX_EXPORT_BATCH_SIZE must not exceed OTEL_BSP_MAX_QUEUE_SIZE"
            )
        self._lock = threading.Lock()
        self._waiting: list[TraceSpans] = []
        self._queued = 0  # spans in _waiting
        self._dropped = 0
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="span-export", daemon=True)
        self._thread.start()

    def add(self, trace: TraceSpans) -> None:
        count = len(trace.spans)
        with self._lock:
            if self._queued + count > self._queue_size:
                self._dropped += count
                return
            self._waiting.append(trace)
            self._queued += count
            queued = self._queued
        # Once per batch's worth: the thread then takes all that is queued.
        if queued >= self._batch > queued - count:
            self._wake.set()

    def shutdown(self) -> None:
        """Send what is queued (waiting up to OTEL_BSP_EXPORT_TIMEOUT), then stop."""
        self._stopping = True
        self._wake.set()
        self._thread.join(self._timeout_s)
        self._sink.shutdown()

    def _run(self) -> None:
        while True:
            self._wake.wait(self._delay_s)
            self._wake.clear()
            stopping = self._stopping
            self._send_queued()
            if stopping:
                return

    def _send_queued(self) -> None:
        # What is queued now, not what arrives meanwhile: the request path adds spans
        # while a batch is posted, and chasing them sent a post per few spans.
        with self._lock:
            waiting, self._waiting = self._waiting, []
            self._queued = 0
            dropped, self._dropped = self._dropped, 0
        if dropped:
            _logger.warning("the span queue was full: %d spans were dropped", dropped)
        batch: list[TraceSpans] = []
        size = 0
        for trace in waiting:
            batch.append(trace)
            size += len(trace.spans)
            if size >= self._batch:
                self._send(batch)
                batch, size = [], 0
        if batch:
            self._send(batch)

    def _send(self, batch: list[TraceSpans]) -> None:
        try:
            self._sink.export(batch)
        except Exception:  # the thread outlives a bad batch; the next one may pass
            _logger.exception("exporting a batch of %d traces failed", len(batch))


def _setting(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise TracingConfigError(f"{name}={raw!r}: expected a positive whole number")
    return value


class OtlpSink:
    def __init__(self, resource: Resource, scope: str) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self._exporter = OTLPSpanExporter()
        self._resource = resource
        self._scope = scope

    def export(self, traces: Sequence[TraceSpans]) -> None:
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add(schema_url=self._resource.schema_url)
        _put_attributes(resource_spans.resource.attributes, self._resource.attributes)
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = self._scope
        add = scope_spans.spans.add
        for trace_id, trace_state, spans in traces:
            trace_bytes = trace_id.to_bytes(16, "big")
            state = trace_state.to_header() if trace_state else ""
            for span_id, parent_id, remote, name, kind, start, end, attributes, problem in spans:
                message = add(
                    trace_id=trace_bytes,
                    span_id=span_id.to_bytes(8, "big"),
                    trace_state=state,
                    name=name,
                    kind=kind,
                    start_time_unix_nano=start,
                    end_time_unix_nano=end,
                    flags=_REMOTE_PARENT if remote else _LOCAL_PARENT,
                )
                if parent_id:
                    message.parent_span_id = parent_id.to_bytes(8, "big")
                if attributes:
                    _put_attributes(message.attributes, attributes)
                if problem is not None:
                    message.status.code = SpanStatus.STATUS_CODE_ERROR
                    message.status.message = problem
        # The exporter's client, not its `export`: that one takes the SDK's span objects
        # and encodes them itself. Failures are logged by the client (after its retries).
        self._exporter._client.export(request.SerializeToString())

    def shutdown(self) -> None:
        self._exporter._client.shutdown()


def _put_attributes(into: Any, attributes: Mapping[str, object]) -> None:
    """Into a repeated KeyValue field (`into`; protobuf's containers have no stubs here)."""
    add = into.add
    fields = _VALUE_FIELDS
    for key, value in attributes.items():
        field = fields.get(value.__class__)
        if field is not None:
            setattr(add(key=key).value, field, value)
        else:
            _put_value(add(key=key).value, value)


def _put_value(into: AnyValue, value: object) -> None:
    # bool before int: a bool is an int to isinstance.
    if isinstance(value, bool):
        into.bool_value = value
    elif isinstance(value, str):
        into.string_value = value
    elif isinstance(value, int):
        into.int_value = value
    elif isinstance(value, float):
        into.double_value = value
    elif isinstance(value, Sequence):  # e.g. a list in OTEL_RESOURCE_ATTRIBUTES' resource
        values = into.array_value.values
        for item in value:
            _put_value(values.add(), item)
    else:
        into.string_value = str(value)


class ConsoleSink:
    def __init__(self, resource: Resource, scope: str) -> None:
        # stdout carries the JSON request log; spans must not interleave with it.
        self._exporter = ConsoleSpanExporter(out=sys.stderr)
        self._resource = resource
        self._scope = InstrumentationScope(scope)

    def export(self, traces: Sequence[TraceSpans]) -> None:
        self._exporter.export(
            [self._readable(trace, span) for trace in traces for span in trace.spans]
        )

    def _readable(self, trace: TraceSpans, span: SpanRecord) -> ReadableSpan:
        span_id, parent_id, remote, name, kind, start, end, attributes, problem = span
        flags = TraceFlags(TraceFlags.SAMPLED)
        state = trace.trace_state
        own = SpanContext(trace.trace_id, span_id, False, flags, state)
        parent = SpanContext(trace.trace_id, parent_id, remote, flags, state) if parent_id else None
        status = Status(StatusCode.ERROR, problem) if problem is not None else Status()
        return ReadableSpan(
            name=name,
            context=own,
            parent=parent,
            resource=self._resource,
            attributes=attributes,
            kind=_SDK_KINDS[kind],
            instrumentation_scope=self._scope,
            status=status,
            start_time=start,
            end_time=end,
        )

    def shutdown(self) -> None:
        return  # it holds nothing: each batch was written and flushed
