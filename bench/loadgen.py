"""The load generator: closed-loop workers, each on its own keep-alive connection.

Each of `concurrency` workers sends a request, reads the whole answer, and sends the next,
so concurrency is the number of requests in flight. One keep-alive connection per worker,
as a pooled client would hold. Latency is from just before the request is written to the
last body byte; TTFT (streams) to the first chunk carrying a non-empty content delta.

The client is as lean as wrk's: the request's bytes are made once, and each answer is
parsed by httptools (llhttp, in C) straight off an asyncio protocol. A general-purpose
client (aiohttp costs about 0.14 ms of CPU per request on this machine) would share the
simulator's core with its own work and, at high concurrency, make the client the
bottleneck that latency figures then measure.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

# First SSE delta with text in it; the role-only opening chunk has "content":"" or none.
_CONTENT = re.compile(rb'"content":\s*"[^"]')
_OVERHEAD_HEADER = b"x-gateway-overhead-ms"
_TIMEOUT_S = 60.0
_KEPT_BODY = 300  # of an error's body, for its message


@dataclass(frozen=True)
class Target:
    """Where to send chat completions and how to authenticate."""

    name: str
    url: str
    api_key: str


@dataclass
class Sample:
    """Everything measured in one cell, raw: summaries are computed elsewhere."""

    latencies_ms: list[float] = field(default_factory=list)
    ttfts_ms: list[float] = field(default_factory=list)
    reported_overheads_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_examples: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    def record_error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_examples) < 3:
            self.error_examples.append(message[:300])


def chat_body(*, stream: bool) -> dict[str, object]:
    """The request every target receives: short prompt, usage in the last chunk of streams."""
    body: dict[str, object] = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "Say hello in one short sentence."}],
    }
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


async def drive(
    target: Target,
    *,
    stream: bool,
    concurrency: int,
    duration_s: float,
    max_requests: int,
) -> Sample:
    """Run `concurrency` workers until `duration_s` passes or `max_requests` are done."""
    sample = Sample()
    budget = _Budget(max_requests, time.perf_counter() + duration_s)
    request = _Request.of(target, json.dumps(chat_body(stream=stream)).encode())
    cpu_before, started = time.process_time(), time.perf_counter()
    workers = [_worker(request, stream, budget, sample) for _ in range(concurrency)]
    await asyncio.gather(*workers)
    sample.elapsed_s = time.perf_counter() - started
    sample.client_cpu_s = time.process_time() - cpu_before
    return sample


class _Budget:
    """Shared by the workers: a request count and a deadline, whichever comes first."""

    def __init__(self, max_requests: int, deadline: float) -> None:
        self._left = max_requests
        self._deadline = deadline

    def take(self) -> bool:
        if self._left <= 0 or time.perf_counter() >= self._deadline:
            return False
        self._left -= 1
        return True


@dataclass(frozen=True)
class _Request:
    host: str
    port: int
    raw: bytes  # the whole request, head and body, sent as is every time

    @classmethod
    def of(cls, target: Target, body: bytes) -> _Request:
        url = urlsplit(target.url)
        host, port = url.hostname or "127.0.0.1", url.port or 80
        head = (
            f"POST {url.path or '/'} HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            f"Authorization: Bearer {target.api_key}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n"
            "\r\n"
        )
        return cls(host, port, head.encode() + body)


class _Failed(Exception):
    """The exchange broke off: the connection was lost, timed out or spoke bad HTTP."""


async def _worker(request: _Request, stream: bool, budget: _Budget, sample: Sample) -> None:
    connection: _Connection | None = None
    try:
        while budget.take():
            try:
                if connection is None or connection.closed:
                    connection = await _Connection.open(request, stream)
                answer = await connection.exchange()
            except (OSError, _Failed) as exc:
                sample.record_error(f"{type(exc).__name__}: {exc}")
                if connection is not None:
                    connection.close()
                connection = None
                continue
            _note(answer, stream, sample)
    finally:
        if connection is not None:
            connection.close()


def _note(answer: _Answer, stream: bool, sample: Sample) -> None:
    if answer.status != 200:
        sample.record_error(f"HTTP {answer.status}: {answer.kept!r}")
        return
    if stream and (answer.first_token is None or b"[DONE]" not in answer.kept):
        sample.record_error(f"incomplete stream, ends with {answer.kept!r}")
        return
    if answer.overhead is not None:
        sample.reported_overheads_ms.append(float(answer.overhead))
    sample.latencies_ms.append((answer.finished - answer.started) * 1000)
    if stream and answer.first_token is not None:
        sample.ttfts_ms.append((answer.first_token - answer.started) * 1000)


@dataclass
class _Answer:
    started: float
    status: int = 0
    overhead: bytes | None = None
    first_token: float | None = None
    # A stream's last 64 bytes (to see its closing [DONE] across a split); otherwise the
    # body's first bytes, for an error's message.
    kept: bytes = b""
    finished: float = 0.0


class _Connection(asyncio.Protocol):
    """One keep-alive connection; `exchange` sends the request and waits for its answer."""

    def __init__(self, request: _Request, stream: bool) -> None:
        self._raw = request.raw
        self._stream = stream
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._answer = _Answer(0.0)
        self._waiter: asyncio.Future[_Answer] | None = None
        self.closed = False

    @classmethod
    async def open(cls, request: _Request, stream: bool) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: cls(request, stream), request.host, request.port
        )
        return connection

    async def exchange(self) -> _Answer:
        assert self._transport is not None
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(_TIMEOUT_S, self._fail, "no answer in time")
        self._answer = _Answer(time.perf_counter())
        self._transport.write(self._raw)
        try:
            return await waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(f"bad HTTP from the server: {exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(f"connection lost: {exc or 'closed by the server'}")

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == _OVERHEAD_HEADER:
            self._answer.overhead = value

    def on_headers_complete(self) -> None:
        self._answer.status = self._parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        answer = self._answer
        if self._stream and answer.status == 200:
            if answer.first_token is None and _CONTENT.search(body):
                answer.first_token = time.perf_counter()
            answer.kept = (answer.kept + body)[-64:]
        elif len(answer.kept) < _KEPT_BODY:
            answer.kept = (answer.kept + body)[:_KEPT_BODY]

    def on_message_complete(self) -> None:
        self._answer.finished = time.perf_counter()
        if not self._parser.should_keep_alive():
            self.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(self._answer)

    def _fail(self, why: str) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(_Failed(why))
        self.close()
