"""The load generator: closed-loop workers over one aiohttp connection pool.

Each of `concurrency` workers sends a request, reads the whole answer, and sends the next,
so concurrency is the number of requests in flight. One keep-alive connection per worker,
as a pooled client would hold. Latency is from just before the request is written to the
last body byte; TTFT (streams) to the first chunk carrying a non-empty content delta.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

# First SSE delta with text in it; the role-only opening chunk has "content":"" or none.
_CONTENT = re.compile(rb'"content":\s*"[^"]')
_OVERHEAD_HEADER = "x-gateway-overhead-ms"

# One request/response exchange: `_complete_once` or `_stream_once`.
_Call = Callable[["aiohttp.ClientSession", str, bytes, "Sample"], Awaitable[None]]


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
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    headers = {"Authorization": f"Bearer {target.api_key}", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=60)
    body = _encode(chat_body(stream=stream))
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as s:
        cpu_before, started = time.process_time(), time.perf_counter()
        call = _stream_once if stream else _complete_once
        workers = [_worker(s, target.url, body, call, budget, sample) for _ in range(concurrency)]
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


async def _worker(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    call: _Call,
    budget: _Budget,
    sample: Sample,
) -> None:
    while budget.take():
        try:
            await call(session, url, body, sample)
        except (aiohttp.ClientError, TimeoutError) as exc:
            sample.record_error(f"{type(exc).__name__}: {exc}")


async def _complete_once(
    session: aiohttp.ClientSession, url: str, body: bytes, sample: Sample
) -> None:
    started = time.perf_counter()
    async with session.post(url, data=body) as response:
        payload = await response.read()
        finished = time.perf_counter()
        if response.status != 200:
            sample.record_error(f"HTTP {response.status}: {payload[:200]!r}")
            return
        _note_overhead(response, sample)
    sample.latencies_ms.append((finished - started) * 1000)


async def _stream_once(
    session: aiohttp.ClientSession, url: str, body: bytes, sample: Sample
) -> None:
    started = time.perf_counter()
    first_token: float | None = None
    tail = b""
    async with session.post(url, data=body) as response:
        if response.status != 200:
            payload = await response.read()
            sample.record_error(f"HTTP {response.status}: {payload[:200]!r}")
            return
        async for chunk in response.content.iter_any():
            if first_token is None and _CONTENT.search(chunk):
                first_token = time.perf_counter()
            tail = (tail + chunk)[-64:]  # enough to see the closing [DONE] across a split
        finished = time.perf_counter()
        _note_overhead(response, sample)
    if first_token is None or b"[DONE]" not in tail:
        sample.record_error(f"incomplete stream, ends with {tail!r}")
        return
    sample.latencies_ms.append((finished - started) * 1000)
    sample.ttfts_ms.append((first_token - started) * 1000)


def _note_overhead(response: aiohttp.ClientResponse, sample: Sample) -> None:
    reported = response.headers.get(_OVERHEAD_HEADER)
    if reported is not None:
        sample.reported_overheads_ms.append(float(reported))


def _encode(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode()
