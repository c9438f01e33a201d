"""Writing the answer: the body or the SSE stream, and the gateway's response headers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from llm_proxy.cache.replay import Replayed
from llm_proxy.departures import ClientDisconnected, departure_of, unless_departed
from llm_proxy.guard.hits import header_value
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.request_path import RequestPath
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.transports.base import Reply, Stream

ErrorFormat = Callable[[GatewayError], bytes]


RawHeaders = list[tuple[bytes, bytes]]


def gateway_headers(ctx: RequestContext) -> RawHeaders:
    """The gateway's response headers, as the ASGI server takes them (names lower-case)."""
    headers = [(b"x-request-id", ctx.request_id.encode("latin-1"))]
    add = headers.append
    dispatch = ctx.dispatch
    deployment = dispatch.deployment
    if deployment is not None:
        add((b"x-gateway-model", _latin1(dispatch.group or ctx.requested_model)))
        add((b"x-gateway-provider", _latin1(deployment.provider)))
        add((b"x-gateway-deployment", _latin1(deployment.name)))
        if deployment.backend.region is not None:
            add((b"x-gateway-region", _latin1(deployment.backend.region)))
        add((b"x-gateway-attempts", b"%d" % len(dispatch.attempts)))
        if dispatch.fallback_used:
            add((b"x-gateway-fallback", _latin1(dispatch.attempts[0].group)))
        if dispatch.hedged_to:
            add((b"x-gateway-hedged-to", _latin1(",".join(dispatch.hedged_to))))
    if ctx.route is not None:
        add((b"x-gateway-route", _latin1(ctx.route.header())))
    if ctx.downgraded_from is not None:
        add((b"x-gateway-downgraded-from", _latin1(ctx.downgraded_from)))
    for name, value in ctx.rate_limit_headers.items():
        add((_latin1(name.lower()), _latin1(value)))
    if ctx.cache_result is not None:
        add((b"x-gateway-cache", _latin1(ctx.cache_result)))
    if ctx.optimizer is not None:
        add((b"x-gateway-optimizer", _latin1(ctx.optimizer.header())))
    if ctx.guard_hits:
        add((b"x-gateway-guardrails", _latin1(header_value(ctx.guard_hits))))
    if ctx.prompt is not None:
        add((b"x-gateway-prompt", _latin1(ctx.prompt.header())))
        if ctx.prompt.unused:
            add((b"x-gateway-prompt-unused", _latin1(",".join(ctx.prompt.unused))))
    add((b"x-gateway-overhead-ms", b"%.2f" % ctx.overhead_ms()))
    return headers


def _latin1(value: str) -> bytes:
    return value.encode("latin-1")


class _Reply(Response):
    """A complete answer: its headers given raw, as `Response` would have made them from a
    dict (the gateway's, then content-length and content-type), without the re-encoding."""

    def __init__(self, body: bytes, headers: RawHeaders) -> None:
        self.status_code = 200
        self.background = None
        self.body = body
        headers.append((b"content-length", b"%d" % len(body)))
        headers.append((b"content-type", b"application/json"))
        self.raw_headers = headers


def reply_response(ctx: RequestContext, reply: Reply) -> Response:
    return _Reply(reply.body, gateway_headers(ctx))


def stream_response(
    ctx: RequestContext, stream: Stream, pipeline: RequestPath, error_event: Callable[[str], bytes]
) -> Response:
    headers = gateway_headers(ctx)
    headers.append((b"cache-control", b"no-cache"))
    relayed = _Relayed()

    def record() -> None:
        if not relayed.recorded:
            relayed.recorded = True
            if not relayed.whole and ctx.status < 400:
                # Logged like a non-streamed request whose client left: 499, not 200.
                ctx.status = 499
                ctx.error = "The client closed the connection before the stream ended."
            ctx.tool_calls = stream.tool_calls
            pipeline.finish(ctx, stream.usage)

    if isinstance(stream.events, Replayed):
        relayed.whole = True  # it goes out in one write
        return _WholeStream(stream.events.data, headers, record)

    async def finish() -> None:
        if not relayed.closed:
            relayed.closed = True
            await _close(stream.events)
            record()

    response = _SettledStream(
        _relay(ctx, stream, pipeline, error_event, finish, record, relayed),
        finish,
        media_type="text/event-stream",
    )
    # Before the content-type the response adds, as a headers dict would have put them.
    response.raw_headers[:0] = headers
    return response


# StreamingResponse's, for its media type.
_EVENT_STREAM = (b"content-type", b"text/event-stream; charset=utf-8")


class _WholeStream(Response):
    """A stream all here before its first byte (a cached answer replayed, no stage between
    it and the client): settled, then sent as the stream's only chunk, in one write. The
    headers and bytes a relay sends, without its task group watching for the client to
    leave: there is no upstream left to cancel."""

    def __init__(self, data: bytes, headers: RawHeaders, record: Callable[[], None]) -> None:
        self.status_code = 200
        self.background = None
        self.body = data
        headers.append(_EVENT_STREAM)
        self.raw_headers = headers
        self._record = record

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Settled before the client can see the end, as the relay does.
        self._record()
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": False})
        if self.background is not None:
            await self.background()


class _SettledStream(StreamingResponse):
    """A stream whose request is settled exactly once, also when no byte of it was ever
    sent (the client left before the response started, so the relay never ran).

    Served by the gateway's protocol, a client leaving cancels the relay through the
    request's departure (`llm_proxy.departures`); Starlette's way, a task group with a
    task per stream waiting on `receive()` for the disconnect, is kept for other servers.
    """

    def __init__(
        self, content: AsyncIterator[bytes], finish: Callable[[], Awaitable[None]], **kw: Any
    ) -> None:
        super().__init__(content, **kw)
        self._finish = finish

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        departure = departure_of(scope)
        try:
            if departure is None:
                await super().__call__(scope, receive, send)
                return
            # Nobody is left to answer; `_relay` settles the stream as cut short.
            with suppress(ClientDisconnected):
                await unless_departed(departure, self.stream_response(send))
            if self.background is not None:
                await self.background()
        finally:
            await self._finish()


@dataclass(slots=True)
class _Relayed:
    """How far the relay got: the stream's end reached (else its client left first), its
    record handed to the spend log, its upstream body closed."""

    whole: bool = False
    recorded: bool = False
    closed: bool = False


async def _relay(
    ctx: RequestContext,
    stream: Stream,
    pipeline: RequestPath,
    error_event: Callable[[str], bytes],
    finish: Callable[[], Awaitable[None]],
    record: Callable[[], None],
    relayed: _Relayed,
) -> AsyncIterator[bytes]:
    # The record is written (to the spend log's write-ahead file) before the client can
    # see the end: the piece that carries it ([DONE], message_stop, response.completed)
    # is the first one read after the upstream completed, and an error event is the last.
    # A process killed once the client has its answer has its record on disk.
    # The client going away cancels this generator (`_SettledStream`); the finally clause
    # then closes the upstream body and settles what was streamed so far.
    try:
        async for event in stream.events:
            if stream.completed and not relayed.recorded:
                relayed.whole = True
                record()
            yield event
        relayed.whole = True
    except UpstreamError as error:
        pipeline.stream_failed(ctx, error)
        relayed.whole = True
        record()
        yield error_event(error.message)
    finally:
        await finish()


async def _close(events: AsyncIterator[bytes]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def openai_error_event(message: str) -> bytes:
    error = {
        "message": message,
        "type": "api_error",
        "param": None,
        "code": "upstream_stream_error",
    }
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


def anthropic_error_event(message: str) -> bytes:
    payload = orjson.dumps({"type": "error", "error": {"type": "api_error", "message": message}})
    return b"event: error\ndata: " + payload + b"\n\n"


def error_response(
    error: GatewayError, render: ErrorFormat, request_id: str | None = None
) -> Response:
    headers = dict(error.headers)
    if request_id:
        headers["x-request-id"] = request_id
    return Response(
        render(error), status_code=error.status, media_type="application/json", headers=headers
    )
