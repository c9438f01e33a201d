"""POSTs to the gateway on kept-alive HTTP/1.1 connections: the one thing sub-calls need.

Against a budget of one millisecond of CPU per sub-call, a general client costs too much:
urllib3 on http.client spends about 0.3 ms a POST (two sends, headers parsed by the email
package), the openai SDK and httpx more. This pool writes each request in one send and
parses the answer with httptools (the parser uvicorn uses), at about a tenth of that.
It speaks only what the gateway answers a sub-call: one request at a time per connection,
a body of known length, any answer body (Content-Length or chunked). Thread-safe: idle
connections are shared by every approach thread.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass, field

import httptools


class GatewayUnreachable(Exception):
    """No answer: the connection failed, was closed mid-answer, or the time ran out."""


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    request_id: str | None  # the gateway's x-request-id


@dataclass(slots=True)
class _Reading:
    """httptools' callbacks: what one answer said, as it is parsed."""

    chunks: list[bytes] = field(default_factory=list)
    request_id: str | None = None
    complete: bool = False
    keep_alive: bool = False
    parser: httptools.HttpResponseParser | None = None

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"x-request-id":
            self.request_id = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        # Asked here: once the answer is complete the parser has reset for the next one.
        assert self.parser is not None
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class GatewayConnections:
    def __init__(self, host: str, port: int, keep: int) -> None:
        self._address = (host, port)
        self._keep = keep
        self._host = f"{host}:{port}".encode()
        self._idle: list[socket.socket] = []
        self._lock = threading.Lock()

    def post(self, path: str, headers: dict[str, str], body: bytes, timeout_s: float) -> Answer:
        """One POST; raises GatewayUnreachable when no whole answer came within `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        request = self._request(path, headers, body)
        reused = self._take()
        if reused is not None:
            try:
                return self._exchange(reused, request, deadline)
            except _ClosedBeforeAnswer:
                # The gateway closed it while idle, before reading the request: not sent.
                pass
        connection = self._connect(deadline)
        try:
            return self._exchange(connection, request, deadline)
        except _ClosedBeforeAnswer:
            raise GatewayUnreachable("the gateway closed the connection") from None

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _request(self, path: str, headers: dict[str, str], body: bytes) -> bytes:
        lines = [b"POST ", path.encode(), b" HTTP/1.1\r\nhost: ", self._host, b"\r\n"]
        for name, value in headers.items():
            lines += [name.encode(), b": ", value.encode(), b"\r\n"]
        lines += [b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body]
        return b"".join(lines)

    def _take(self) -> socket.socket | None:
        while True:
            with self._lock:
                if not self._idle:
                    return None
                connection = self._idle.pop()
            # An idle connection with something to read has been closed by the gateway.
            readable, _, _ = select.select([connection], [], [], 0)
            if not readable:
                return connection
            connection.close()

    def _give_back(self, connection: socket.socket) -> None:
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(connection)
                return
        connection.close()

    def _connect(self, deadline: float) -> socket.socket:
        try:
            connection = socket.create_connection(self._address, timeout=_left(deadline))
        except OSError as exc:
            raise GatewayUnreachable(f"cannot connect to the gateway: {exc}") from None
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def _exchange(self, connection: socket.socket, request: bytes, deadline: float) -> Answer:
        reading = _Reading()
        parser = reading.parser = httptools.HttpResponseParser(reading)
        received = False
        try:
            connection.settimeout(_left(deadline))
            connection.sendall(request)
            while not reading.complete:
                connection.settimeout(_left(deadline))
                data = connection.recv(65536)
                if not data:
                    break
                received = True
                parser.feed_data(data)
        except GatewayUnreachable:
            connection.close()
            raise
        except (OSError, httptools.HttpParserError) as exc:
            connection.close()
            if not received and isinstance(exc, ConnectionError):
                raise _ClosedBeforeAnswer from None
            raise GatewayUnreachable(f"{type(exc).__name__}: {exc}") from None
        if not reading.complete:
            connection.close()
            if not received:
                raise _ClosedBeforeAnswer
            raise GatewayUnreachable("the gateway closed the connection mid-answer")
        answer = Answer(parser.get_status_code(), b"".join(reading.chunks), reading.request_id)
        if reading.keep_alive:
            self._give_back(connection)
        else:
            connection.close()
        return answer


class _ClosedBeforeAnswer(Exception):
    pass


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise GatewayUnreachable("timed out")
    return left
