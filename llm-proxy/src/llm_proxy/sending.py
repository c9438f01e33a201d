"""Sending a response: a complete answer leaves in one transport write, its headers checked once.

uvicorn's cycle writes a response's head as soon as the application starts it and the body
when it arrives: two writes (two send syscalls) for an answer whose body comes in one
message right after. And it runs its two header regexes on each header in turn.
`OneWrite`, the sender the protocol gives each request's application, holds the head of a
response framed by content-length until its first body message and writes both at once; a
stream (chunked) or a response without content-length has its head written at once, as
before. The headers are checked with uvicorn's own patterns, once on all names and once on
all values joined: each pattern is a single character class, so that finds exactly what the
per-header checks find (a value with CR or LF is never written).

On the wire the bytes are uvicorn's; only the write boundaries differ. An application that
fails, or returns, after starting a response has the held head written before uvicorn
closes the connection, as uvicorn would have written it.
"""

from __future__ import annotations

from uvicorn._types import (
    ASGI3Application,
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    HTTPResponseBodyEvent,
    HTTPResponseStartEvent,
)
from uvicorn._types import Scope as ASGIScope
from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string


class OneWrite:
    """An application whose responses go out through `send` below, over a uvicorn cycle.

    The protocol wraps each request's application in one. It works on the cycle's own
    state (uvicorn's attributes), so uvicorn's send takes over where this one does not.
    A wrapper rather than a cycle subclass: reassigning the cycle's class (uvicorn builds
    it) turned its attributes into a dictionary's, and cost more than the write saved.
    """

    __slots__ = ("_app", "_cycle", "_head")

    def __init__(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        self._cycle = cycle
        self._app = app
        self._head: bytes | None = None

    async def __call__(
        self, scope: ASGIScope, receive: ASGIReceiveCallable, _send: ASGISendCallable
    ) -> None:
        try:
            await self._app(scope, receive, self.send)
        finally:
            head = self._head
            if head is not None:
                # The application stopped between start and body: uvicorn closes the
                # connection next, after what it would have written so far.
                self._head = None
                self._cycle.transport.write(head)

    async def send(self, message: ASGISendEvent) -> None:
        cycle = self._cycle
        if message["type"] == "http.response.body" and self._head is not None:
            await self._send_with_head(cycle, message)
        elif message["type"] == "http.response.start" and not cycle.response_started:
            if cycle.flow.write_paused and not cycle.disconnected:
                await cycle.flow.drain()
            if not cycle.disconnected:
                self._start(cycle, message)
        else:
            await cycle.send(message)

    async def _send_with_head(
        self, cycle: RequestResponseCycle, message: HTTPResponseBodyEvent
    ) -> None:
        if cycle.flow.write_paused and not cycle.disconnected:
            await cycle.flow.drain()
        if cycle.disconnected:
            return
        head = self._head
        assert head is not None
        self._head = None
        body = message.get("body", b"")
        more_body = message.get("more_body", False)
        if cycle.scope["method"] == "HEAD":
            cycle.expected_content_length = 0
            body = b""
        else:
            if len(body) > cycle.expected_content_length:
                raise RuntimeError("Response content longer than Content-Length")
            cycle.expected_content_length -= len(body)
        cycle.transport.write(head + body)
        if not more_body:
            if cycle.expected_content_length != 0:
                raise RuntimeError("Response content shorter than Content-Length")
            cycle.response_complete = True
            cycle.message_event.set()
            if not cycle.keep_alive:
                cycle.transport.close()
            cycle.on_response()

    def _start(self, cycle: RequestResponseCycle, message: HTTPResponseStartEvent) -> None:
        cycle.response_started = True
        cycle.waiting_for_100_continue = False
        status_code = message["status"]
        headers = cycle.default_headers + list(message.get("headers", []))
        if HEADER_RE.search(b"".join([name for name, _ in headers])):
            raise RuntimeError("Invalid HTTP header name.")
        if HEADER_VALUE_RE.search(b"".join([value for _, value in headers])):
            raise RuntimeError("Invalid HTTP header value.")
        scope = cycle.scope
        if cycle.access_log:
            cycle.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(scope),
                scope["method"],
                get_path_with_query_string(scope),
                scope["http_version"],
                status_code,
            )
        content = [STATUS_LINE[status_code]]
        has_connection_close = False
        for name, value in headers:
            name = name.lower()
            if name == b"content-length" and cycle.chunked_encoding is None:
                cycle.expected_content_length = int(value.decode())
                cycle.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                cycle.expected_content_length = 0
                cycle.chunked_encoding = True
            elif name == b"connection":
                connection = [token.lower().strip() for token in value.split(b",")]
                if b"close" in connection:
                    cycle.keep_alive = False
                    has_connection_close = True
            content.extend((name, b": ", value, b"\r\n"))
        if not cycle.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if (
            cycle.chunked_encoding is None
            and scope["method"] != "HEAD"
            and status_code not in (204, 304)
        ):
            cycle.chunked_encoding = True
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        head = b"".join(content)
        if cycle.chunked_encoding is False:
            self._head = head
        else:
            cycle.transport.write(head)
