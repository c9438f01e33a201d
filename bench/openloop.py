"""Open-loop load: requests sent on a fixed schedule, whatever the answers take.

A closed loop (`bench.loadgen`) slows down when the gateway does, so a stall hides
itself; here request n leaves at n / rate seconds whatever happened to the ones before,
as independent clients would send them. Every outcome is kept (when it was sent, what it
took, its status and the gateway's headers) for the caller to judge. Loopback only, and
bounded by `seconds`.

A stream counts as answered once its last event has arrived (`[DONE]`, `message_stop`,
`response.completed`), as an SDK's iterator ends there: a connection that drops after
it does not take the answer back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp

Api = Literal["chat", "completions", "messages", "responses"]
_PATHS: dict[Api, str] = {
    "chat": "/v1/chat/completions",
    "completions": "/v1/completions",
    "messages": "/v1/messages",
    "responses": "/v1/responses",
}
# The event that ends a whole stream of each API.
_LAST_EVENT: dict[Api, bytes] = {
    "chat": b"data: [DONE]",
    "completions": b"data: [DONE]",
    "messages": b"event: message_stop",
    "responses": b"event: response.completed",
}


@dataclass(frozen=True, slots=True)
class Outcome:
    number: int
    sent_at: float  # seconds after the run began
    took_s: float
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    headers: dict[str, str]
    text: str
    api: Api = "chat"
    stream: bool = False

    @property
    def answered(self) -> bool:
        """A whole 200 answer (a stream up to its last event)."""
        return self.status == 200 and (
            not self.stream or _LAST_EVENT[self.api].decode() in self.text
        )


@dataclass(frozen=True, slots=True)
class Schedule:
    url: str  # the gateway, e.g. http://127.0.0.1:4000
    key: str
    rate_per_s: float
    seconds: float
    model: str = "m"
    timeout_s: float = 30.0
    # Every `repeat_every`-th request asks the same question (a cache hit when the cache
    # is on); the others ask their own. 0: all the same.
    repeat_every: int = 0
    # The APIs asked, in turn (each for a plain and a streamed request).
    apis: tuple[Api, ...] = ("chat",)
    # None: plain and streamed alternately; True or False: all streamed, or none.
    stream: bool | None = None
    # The model asked through an API, where it is not `model`.
    models: dict[Api, str] = field(default_factory=dict)


Event = tuple[float, Callable[[], None]]


async def run(schedule: Schedule, events: list[Event] | None = None) -> list[Outcome]:
    """Send the schedule's requests (alternately plain and streamed unless the schedule
    says otherwise); each event's function runs once, that many seconds into the run
    (a fault, a kill)."""
    if urlsplit(schedule.url).hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("open-loop load goes to loopback only")
    pending = sorted(events or [], key=lambda event: event[0])
    headers = {"authorization": f"Bearer {schedule.key}"}
    timeout = aiohttp.ClientTimeout(total=schedule.timeout_s)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as http:
        for api in schedule.apis:  # the first requests load what the gateway loads lazily
            for stream in (False, True):
                await _one(http, schedule, api, "hi", -1, stream, time.monotonic())
        epoch = time.monotonic()
        tasks = []
        for number in range(int(schedule.seconds * schedule.rate_per_s)):
            due = epoch + number / schedule.rate_per_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            while pending and time.monotonic() - epoch >= pending[0][0]:
                pending.pop(0)[1]()
            prompt = "hi" if _repeats(schedule, number) else f"hi {number} {epoch}"
            api = schedule.apis[number // 2 % len(schedule.apis)]
            stream = number % 2 == 1 if schedule.stream is None else schedule.stream
            request = _one(http, schedule, api, prompt, number, stream, epoch)
            tasks.append(asyncio.create_task(request))
        for _, event in pending:
            event()
        return list(await asyncio.gather(*tasks))


def _repeats(schedule: Schedule, number: int) -> bool:
    return schedule.repeat_every == 0 or number % schedule.repeat_every == 0


def _body(api: Api, model: str, prompt: str, stream: bool) -> dict[str, Any]:
    if api == "completions":
        return {"model": model, "prompt": prompt, "stream": stream}
    if api == "responses":
        return {"model": model, "input": prompt, "stream": stream}
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    if api == "messages":
        body["max_tokens"] = 256
    return body


async def _one(
    http: aiohttp.ClientSession,
    schedule: Schedule,
    api: Api,
    prompt: str,
    number: int,
    stream: bool,
    epoch: float,
) -> Outcome:
    url = schedule.url + _PATHS[api]
    body = _body(api, schedule.models.get(api, schedule.model), prompt, stream)
    request_id = f"openloop-{epoch:.6f}-{number}"
    sent = time.monotonic()
    try:
        async with http.post(url, json=body, headers={"x-request-id": request_id}) as response:
            read = await _read(response, _LAST_EVENT[api] if stream else None)
            return Outcome(
                number,
                sent - epoch,
                time.monotonic() - sent,
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                read.decode(errors="replace"),
                api,
                stream,
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Outcome(number, sent - epoch, time.monotonic() - sent, 0, {}, repr(exc), api, stream)


async def _read(response: aiohttp.ClientResponse, last_event: bytes | None) -> bytes:
    """The whole body; or a stream's, up to a failure that came after its last event."""
    pieces: list[bytes] = []
    try:
        async for piece in response.content.iter_any():
            pieces.append(piece)
    except (aiohttp.ClientError, TimeoutError):
        if last_event is None or last_event not in b"".join(pieces):
            raise
    return b"".join(pieces)
