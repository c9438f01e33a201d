"""Turning an upstream SSE body into the client's stream, recording usage on the way."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.transports import sse
from llm_proxy.upstream.transports.base import Frames, Stream
from llm_proxy.upstream.transports.tool_calls import chat_tool_names
from llm_proxy.usage import Usage

# Each frame as the client gets it (None: dropped). While a stage reads the frames, the
# relay appends each relayed frame's payload to the list it is given (see `Frames`).
Relay = Callable[[bytes, "list[Any] | None"], bytes | None]
_DONE = b"data: [DONE]\n\n"


def error_message(body: bytes) -> str | None:
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    if isinstance(error, dict):
        return str(error.get("message") or "") or None
    return str(error) if error else None


async def first_frame(stream: Stream) -> Stream:
    """Wait for the first frame, so a stream that fails before it can still be retried."""
    started = time.perf_counter()
    first = await anext(stream.events, None)
    stream.ttft_s = time.perf_counter() - started
    if first is None:
        raise UpstreamError(502, "upstream stream ended before its first event", kind="cut")
    rest = stream.events

    async def replay() -> AsyncIterator[bytes]:
        yield first
        async for event in rest:
            yield event

    stream.events = replay()
    return stream


def openai_stream(chunks: AsyncIterator[bytes], wants_usage: bool) -> Stream:
    """OpenAI SSE as the client gets it; usage is recorded and dropped if not asked for."""
    stream = Stream(events=_empty())

    def relay(frame: bytes, payloads: list[Any] | None) -> bytes | None:
        data = sse.data_of(frame)
        if data is None:
            return None
        if data == b"[DONE]":
            stream.completed = True
            if payloads is not None:
                payloads.append(None)
            return _DONE
        try:
            chunk = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise _malformed() from None
        if not isinstance(chunk, dict):
            raise _malformed()
        if "error" in chunk:
            raise UpstreamError(502, error_message(data) or "upstream stream error")
        stream.model = stream.model or chunk.get("model")
        payload: Any = chunk
        usage = chunk.get("usage")
        if usage:
            stream.usage = Usage(
                usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
            )
            if not wants_usage and not chunk.get("choices"):
                return None
        elif choices := chunk.get("choices"):
            # One token per content chunk until the usage chunk replaces the count: a
            # stream whose client leaves is still settled for what it got.
            stream.usage.completion_tokens += 1
            choice: Any = choices[0] if isinstance(choices, list) else None
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict):
                if "tool_calls" in delta:
                    stream.tool_calls += chat_tool_names(delta["tool_calls"])
                elif payloads is not None:
                    # A reader's (`Frames`) usual chunk, the one choice's next text: its
                    # payload is that text, read here while the chunk is at hand (by
                    # subscripts, much cheaper than calls; a key missing is a chunk of
                    # another kind).
                    try:
                        content = delta["content"]
                        if (
                            content.__class__ is str
                            and choice["finish_reason"] is None
                            and choice["index"] == 0
                            and len(choices) == 1
                        ):
                            payload = content
                    except KeyError:
                        pass
        if payloads is not None:
            payloads.append(payload)
        return b"data: " + data + b"\n\n"

    stream.events = _relayed(sse.frame_batches(chunks), relay, stream)
    return stream


async def _relayed(
    batches: AsyncIterator[list[bytes]], relay: Relay, stream: Stream
) -> AsyncIterator[bytes]:
    """Each batch of frames becomes one piece for the client, or, once a stage asks for them
    gathered (`Stream.gather_s`), the batches read within that long of the last piece go
    on together (`Frames`), and the stream's end at once. An error ends the stream after
    the good frames before it are out."""
    # The first piece is read before any stage can ask for `Frames` (`first_frame` waits
    # for it), so it always comes as `Frames`, at once: one copy a stream.
    gather: float | None = 0.0
    due = 0.0
    clock = time.monotonic
    # The frames read since the last piece, and their payloads while gathering (else each
    # read's frames go on at once).
    held: list[bytes] = []
    payloads: list[Any] | None = []
    try:
        async for batch in batches:
            out = held
            failure: UpstreamError | None = None
            for frame in batch:
                try:
                    piece = relay(frame, payloads)
                except UpstreamError as error:
                    failure = error
                    break
                if piece is not None:
                    out.append(piece)
            if failure is not None:
                held = []
                if out:
                    yield _piece(out, payloads)
                raise failure
            if not out:
                continue
            if payloads is None:
                held = []
                yield b"".join(out)
                continue
            now = clock()
            if now < due and not stream.completed:
                continue
            held = []
            yield Frames.of(out, payloads)
            gather = stream.gather_s
            payloads = [] if gather is not None else None
            due = now + (gather or 0.0)
    except Exception:
        # The upstream failed mid-stream: what was gathered goes out before the error does.
        if held:
            yield _piece(held, payloads)
        raise
    if held:
        yield _piece(held, payloads)
    if not stream.completed:
        raise UpstreamError(502, "upstream stream ended before completion", kind="cut")


def _piece(frames: list[bytes], payloads: list[Any] | None) -> bytes:
    """The frames as one piece for the client: `Frames` while a stage reads them."""
    return Frames.of(frames, payloads) if payloads is not None else b"".join(frames)


def track_anthropic_usage(stream: Stream, event: Any) -> None:
    kind = event.get("type") if isinstance(event, dict) else None
    if kind == "message_start":
        message = event.get("message") or {}
        stream.model = message.get("model")
        stream.usage.prompt_tokens = (message.get("usage") or {}).get("input_tokens") or 0
    elif kind == "content_block_start":
        block = event.get("content_block") or {}
        if block.get("type") == "tool_use":
            stream.tool_calls.append(str(block.get("name", "")))
    elif kind == "message_delta":
        stream.usage.completion_tokens = (event.get("usage") or {}).get("output_tokens") or 0
    elif kind == "message_stop":
        stream.completed = True
    elif kind == "error":
        raise UpstreamError(502, str((event.get("error") or {}).get("message") or "upstream error"))


def anthropic_stream(chunks: AsyncIterator[bytes]) -> Stream:
    """Anthropic SSE passed on frame by frame; usage from message_start and message_delta."""
    stream = Stream(events=_empty())

    # The block of the last text delta: a reader's (`Frames`) delta of the same block has
    # its text for its payload.
    block: Any = _NO_TEXT

    def relay(frame: bytes, payloads: list[Any] | None) -> bytes | None:
        nonlocal block
        data = sse.data_of(frame)
        if data is None:
            return None
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise _malformed() from None
        payload = event
        if event.__class__ is not dict or event.get("type") != "content_block_delta":
            track_anthropic_usage(stream, event)
        elif payloads is not None:
            # By subscripts, much cheaper than calls: a key missing is a delta of another kind.
            try:
                delta = event["delta"]
                text = delta["text"]
                if text.__class__ is str and delta["type"] == "text_delta":
                    index = event["index"]
                    if index == block:
                        payload = text
                    block = index
            except (KeyError, TypeError):
                block = _NO_TEXT
        if payloads is not None:
            payloads.append(payload)
        return frame + b"\n\n"

    stream.events = _relayed(sse.frame_batches(chunks), relay, stream)
    return stream


# No text delta yet: no block or part is equal to it.
_NO_TEXT = object()

# The Responses API's last event: the whole response object, with usage.
_RESPONSES_FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})
_RESPONSES_DELTAS = frozenset(
    {"response.output_text.delta", "response.function_call_arguments.delta"}
)


def responses_usage(usage: Any) -> Usage:
    """Usage as the Responses API reports it (input/output tokens, cached input)."""
    if not isinstance(usage, dict):
        return Usage()
    details = usage.get("input_tokens_details") or {}
    return Usage(
        usage.get("input_tokens") or 0,
        usage.get("output_tokens") or 0,
        details.get("cached_tokens") or 0,
    )


def track_responses_event(stream: Stream, event: Any) -> None:
    """Usage, the model and the final response object, off one Responses API event."""
    kind = event.get("type") if isinstance(event, dict) else None
    if kind in _RESPONSES_DELTAS:
        # One token per delta until the final event's usage replaces the count.
        stream.usage.completion_tokens += 1
    elif kind == "response.output_item.added":
        item = event.get("item") or {}
        if item.get("type") == "function_call":
            stream.tool_calls.append(str(item.get("name", "")))
    elif kind == "response.created":
        stream.model = (event.get("response") or {}).get("model")
    elif kind in _RESPONSES_FINAL:
        response = event.get("response") or {}
        stream.usage = responses_usage(response.get("usage"))
        stream.final = response
        stream.completed = True
    elif kind == "error":
        raise UpstreamError(502, str(event.get("message") or "upstream stream error"))


def responses_stream(chunks: AsyncIterator[bytes]) -> Stream:
    """Responses API SSE passed on frame by frame, tracked by `track_responses_event`."""
    stream = Stream(events=_empty())

    # The output text part of the last text delta (its item's index, its own): a reader's
    # (`Frames`) delta of the same part has its text for its payload.
    item: Any = _NO_TEXT
    part: Any = _NO_TEXT

    def relay(frame: bytes, payloads: list[Any] | None) -> bytes | None:
        nonlocal item, part
        data = sse.data_of(frame)
        if data is None:
            return None
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            raise _malformed() from None
        payload = event
        if event.__class__ is not dict or event.get("type") != "response.output_text.delta":
            track_responses_event(stream, event)
        else:
            # One token per delta until the final event's usage replaces the count.
            stream.usage.completion_tokens += 1
            if payloads is not None:
                # By subscripts, much cheaper than calls: a key missing is another event.
                try:
                    text = event["delta"]
                    output, content = event["output_index"], event["content_index"]
                    if text.__class__ is str:
                        if output == item and content == part:
                            payload = text
                        item, part = output, content
                except KeyError:
                    item = part = _NO_TEXT
        if payloads is not None:
            payloads.append(payload)
        return frame + b"\n\n"

    stream.events = _relayed(sse.frame_batches(chunks), relay, stream)
    return stream


def _malformed() -> UpstreamError:
    return UpstreamError(502, "upstream sent a malformed stream event", kind="malformed")


async def _empty() -> AsyncIterator[bytes]:
    return
    yield
