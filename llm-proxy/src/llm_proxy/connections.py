"""Bounded connections: a client has `header_timeout_s` to send each request's headers.

uvicorn closes only keep-alive connections left idle between requests, and any byte that
arrives resets that: a client sending its headers a byte a second holds a connection (a
socket, a file descriptor, parser state) for as long as it likes, and a few hundred such
clients hold the server. This protocol arms a deadline when a connection opens and when
each further request on it begins, and clears it once that request's headers are complete;
a connection still inside its headers at the deadline gets a 408 and is closed (the
connections of one event loop share one timer, `llm_proxy.timeouts`). Bodies are
bounded by size (`api.body_limit`); idle keep-alive connections by uvicorn's
`timeout_keep_alive` (`gateway.keep_alive_s`), on a shared timer too: uvicorn's own, a
timer made after each response and cancelled by the next request, cost every request
of a kept-alive connection both.

Over TLS, the protocol also hands the application the client's certificate, as ASGI's TLS
extension has it (`scope["extensions"]["tls"]["client_cert_chain"]`, PEM): uvicorn itself
does not, and mTLS identities (`api.client_cert`) need it. The handshake has verified it
against `gateway.tls.client_ca_file` before the connection is made. Each request also gets
its `departures.Departure`, which the protocol fires when the connection is lost before
the request's response is complete: the work for a client that left is cancelled.

What the protocol writes in one turn of the event loop leaves in one system call
(`Coalesced`): uvicorn writes a response's head and its body apart, and on loopback each
`send(2)` costs as much kernel time as parsing the request costs in Python.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from llm_proxy.departures import EXTENSION, Departure, departure_of
from llm_proxy.timeouts import Timeouts

_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class ServerConfig(uvicorn.Config):
    """uvicorn's config serving with `HeaderDeadlineProtocol` and its deadline.

    A module-level class (not one made per deadline) so that it pickles: uvicorn hands its
    config to each worker process.
    """

    def __init__(self, app: Any, *, header_timeout_s: float, **settings: Any) -> None:
        super().__init__(app, http=HeaderDeadlineProtocol, **settings)
        self.header_timeout_s = header_timeout_s


class HeaderDeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline on reading each request's headers."""

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        header_timeout_s = getattr(config, "header_timeout_s", 10.0)
        self._deadlines = _shared(self.loop, header_timeout_s, HeaderDeadlineProtocol.too_slow)
        self._idle = _shared(self.loop, self.timeout_keep_alive, _close_idle)
        self._tls: dict[str, Any] | None = None
        # The request whose task runs (a pipelined one waits for it, and never runs once
        # the connection is lost).
        self._running: RequestResponseCycle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Coalesced(transport, self.loop))  # type: ignore[arg-type]
        self._tls = _tls_extension(transport.get_extra_info("ssl_object"))
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        extensions: dict[str, Any] = {EXTENSION: Departure()}
        if self._tls is not None:
            extensions["tls"] = self._tls
        self.scope["extensions"] = extensions
        if not self._deadlines.running(self):
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._idle.stop(self)
        running = self._running
        if running is not None and not running.response_complete:
            departure = departure_of(running.scope)
            if departure is not None:
                departure.client_left()
        super().connection_lost(exc)

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: ASGI3Application) -> None:
        self._running = cycle
        super()._start_asgi_task(cycle, app)

    def on_response_complete(self) -> None:
        # uvicorn's, but for the keep-alive wait: an entry in the shared timer's table.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle.start(self)

    def _unset_keepalive_if_required(self) -> None:
        self._idle.stop(self)
        super()._unset_keepalive_if_required()

    def _arm(self) -> None:
        self._deadlines.start(self)

    def _disarm(self) -> None:
        self._deadlines.stop(self)

    def too_slow(self) -> None:
        if not self.transport.is_closing():
            self.transport.write(_TIMED_OUT)
            self.transport.close()


class Coalesced:
    """A connection's transport whose writes of one turn of the event loop are sent
    together, at the start of the next (a response's head and body, a stream's chunks of
    one upstream read). Closing sends what is pending first; aborting drops it."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self._flush)
        self._pending.append(data)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    def __getattr__(self, name: str) -> Any:
        # The rest (extra info, reading paused or not, the protocol) is the transport's.
        return getattr(self._transport, name)

    def _flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self._transport.is_closing():
            self._transport.writelines(pending)


Expired = Callable[[HeaderDeadlineProtocol], None]
# The connections of one event loop share a timer for each kind of wait (by what expiry does).
_timeouts: dict[Expired, Timeouts[HeaderDeadlineProtocol]] = {}


def _shared(
    loop: asyncio.AbstractEventLoop, after_s: float, expired: Expired
) -> Timeouts[HeaderDeadlineProtocol]:
    timeouts = _timeouts.get(expired)
    if timeouts is None or timeouts.loop is not loop or timeouts.after_s != after_s:
        timeouts = _timeouts[expired] = Timeouts(loop, after_s, expired)
    return timeouts


def _close_idle(protocol: HeaderDeadlineProtocol) -> None:
    protocol.timeout_keep_alive_handler()


def _tls_extension(ssl_object: ssl.SSLObject | None) -> dict[str, Any] | None:
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    cipher = ssl_object.cipher()
    return {
        "client_cert_chain": [ssl.DER_cert_to_PEM_cert(der)] if der else [],
        "client_cert_error": None,
        "tls_version": ssl_object.version(),
        "cipher_suite": cipher[0] if cipher else None,
    }
