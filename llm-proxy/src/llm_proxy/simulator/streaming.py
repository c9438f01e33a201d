"""Delivering a server-sent event stream at the profile's pace, or breaking it on purpose."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from llm_proxy.simulator._asgi import SSE_TYPE, RawHeaders, Responder
from llm_proxy.simulator.faults import Fault, FaultKind
from llm_proxy.simulator.profiles import Timing

SSE_HEADERS: RawHeaders = [(b"cache-control", b"no-cache"), (b"x-accel-buffering", b"no")]


@dataclass(frozen=True, slots=True)
class EventStream:
    """A stream in three parts; the pace applies between the frames of `tokens`."""

    head: list[bytes]  # everything before the first token (role chunk, message_start, ...)
    tokens: list[bytes]  # one frame per token
    tail: list[bytes]  # everything after the last token (finish, usage, [DONE], ...)
    broken: bytes  # a frame whose data is not valid JSON, for the malformed fault


async def deliver(
    responder: Responder,
    stream: EventStream,
    timing: Timing,
    fault: Fault | None,
    headers: RawHeaders,
    client_gone: Callable[[], bool] = lambda: False,
) -> bool:
    """Send `stream`: wait the ttft, then tokens at the rate; cut or corrupt it if told to.

    Returns False when the client left before the end: like a provider, the simulator then
    stops generating instead of pacing out tokens nobody reads.
    """
    kind = fault.kind if fault is not None else None
    tokens = list(stream.tokens)
    tail = stream.tail
    if kind is FaultKind.MALFORMED:
        tokens.insert(len(tokens) // 2, stream.broken)
    elif kind is FaultKind.CUT:
        # Some tokens get through first, so the client sees a stream that started and then died.
        tokens = tokens[: max(1, len(tokens) // 2)]
        tail = []
    await responder.start(200, SSE_TYPE, [*SSE_HEADERS, *headers])
    if timing.ttft_ms:
        await asyncio.sleep(timing.ttft_ms / 1000)
    first, rest = tokens[:1], tokens[1:]
    if not timing.token_interval_s:
        frames = [*stream.head, *first, *rest, *tail]
        if kind is FaultKind.CUT:
            await _send(responder, frames, done=False)
        else:
            await _end(responder, frames, timing)
        return not client_gone()
    await _send(responder, [*stream.head, *first], done=False)
    for frame in rest:
        await asyncio.sleep(timing.token_interval_s)
        if client_gone():
            return False
        await _send(responder, [frame], done=False)
    if kind is not FaultKind.CUT:
        await _end(responder, tail, timing)
    return True


async def _end(responder: Responder, frames: list[bytes], timing: Timing) -> None:
    """The last frames, then the end of the body (`close_after_s` later, when set)."""
    if timing.close_after_s:
        await _send(responder, frames, done=False)
        await asyncio.sleep(timing.close_after_s)
        frames = []
    await _send(responder, frames, done=True)


async def _send(responder: Responder, frames: list[bytes], *, done: bool) -> None:
    # Returning without the final empty body makes the server drop the connection: the cut.
    await responder.body(b"".join(frames), more=not done)
