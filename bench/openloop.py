"""Open-loop load: requests sent on a fixed schedule, whatever the answers take.

A closed loop (`bench.loadgen`) slows down when the gateway does, so a stall hides
itself; here request n leaves at n / rate seconds whatever happened to the ones before,
as independent clients would send them. Every outcome is kept (when it was sent, what it
took, its status and the gateway's headers) for the caller to judge. Loopback only, and
bounded by `seconds`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp


@dataclass(frozen=True, slots=True)
class Outcome:
    number: int
    sent_at: float  # seconds after the run began
    took_s: float
    status: int  # 0: no HTTP answer (connection refused or reset, timeout)
    headers: dict[str, str]
    text: str

    @property
    def answered(self) -> bool:
        """A whole 200 answer (a stream up to its [DONE])."""
        return self.status == 200 and ("[DONE]" in self.text or not self.text.startswith("data:"))


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


Event = tuple[float, Callable[[], None]]


async def run(schedule: Schedule, events: list[Event] | None = None) -> list[Outcome]:
    """Send the schedule's requests, alternately plain and streamed; each event's
    function runs once, that many seconds into the run (a fault, a kill)."""
    if urlsplit(schedule.url).hostname not in ("127.0.0.1", "localhost"):
        raise ValueError("open-loop load goes to loopback only")
    pending = sorted(events or [], key=lambda event: event[0])
    headers = {"authorization": f"Bearer {schedule.key}"}
    timeout = aiohttp.ClientTimeout(total=schedule.timeout_s)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as http:
        endpoint = f"{schedule.url}/v1/chat/completions"
        for stream in (False, True):  # the first requests load what the gateway loads lazily
            await _one(http, endpoint, schedule.model, "hi", -1, stream, time.monotonic())
        epoch = time.monotonic()
        tasks = []
        for number in range(int(schedule.seconds * schedule.rate_per_s)):
            due = epoch + number / schedule.rate_per_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            while pending and time.monotonic() - epoch >= pending[0][0]:
                pending.pop(0)[1]()
            prompt = "hi" if _repeats(schedule, number) else f"hi {number} {epoch}"
            request = _one(http, endpoint, schedule.model, prompt, number, number % 2 == 1, epoch)
            tasks.append(asyncio.create_task(request))
        for _, event in pending:
            event()
        return list(await asyncio.gather(*tasks))


def _repeats(schedule: Schedule, number: int) -> bool:
    return schedule.repeat_every == 0 or number % schedule.repeat_every == 0


async def _one(
    http: aiohttp.ClientSession,
    url: str,
    model: str,
    prompt: str,
    number: int,
    stream: bool,
    epoch: float,
) -> Outcome:
    body = {"model": model, "messages": [{"role": "user", "content": prompt}], "stream": stream}
    request_id = f"openloop-{epoch:.6f}-{number}"
    sent = time.monotonic()
    try:
        async with http.post(url, json=body, headers={"x-request-id": request_id}) as response:
            text = (await response.read()).decode()
            return Outcome(
                number,
                sent - epoch,
                time.monotonic() - sent,
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                text,
            )
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Outcome(number, sent - epoch, time.monotonic() - sent, 0, {}, repr(exc))
