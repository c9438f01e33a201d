"""Reading server-sent events off an upstream body, frame by frame."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def frame_batches(chunks: AsyncIterator[bytes]) -> AsyncIterator[list[bytes]]:
    """Yield the SSE frames (without their blank-line terminators) completed by each read.

    Frames that arrive in one read travel on together: one write to the client instead of
    one per frame, which is most of a stream's cost at high token rates.
    """
    buffer = b""
    async for chunk in chunks:
        buffer += chunk.replace(b"\r\n", b"\n") if b"\r" in chunk else chunk
        if b"\n\n" not in buffer:
            continue
        *complete, buffer = buffer.split(b"\n\n")
        batch = [frame for frame in complete if frame]
        if batch:
            yield batch
    if buffer.strip():
        yield [buffer]


def data_of(frame: bytes) -> bytes | None:
    """The payload of the frame's `data:` line(s), or None for comments and empty frames."""
    if frame.startswith(b"data:") and b"\n" not in frame:
        return frame[5:].lstrip()
    payload = [line[5:].lstrip() for line in frame.split(b"\n") if line.startswith(b"data:")]
    return b"\n".join(payload) if payload else None


def event_of(frame: bytes) -> bytes | None:
    for line in frame.split(b"\n"):
        if line.startswith(b"event:"):
            return line[6:].strip()
    return None
