"""Answers in both shapes: a streamed answer collected into a chat.completion to store, and a
stored chat.completion replayed as the chunks OpenAI would have streamed.

A replay is the same bytes every time for the same stored answer: the last few are kept,
so a streamed hit on a popular answer is neither parsed nor serialised again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import orjson

from llm_proxy.upstream.transports import sse
from llm_proxy.usage import Usage

_DONE = b"data: [DONE]\n\n"
# Replays kept (each about twice its answer's size), and the largest answer kept: a few
# hot answers are what repeats; a rare large one is replayed afresh.
_KEPT_REPLAYS = 64
_KEPT_BODY_BYTES = 64 * 1024


def cacheable(completion: dict[str, Any]) -> bool:
    """A whole, final answer: every choice finished, none asking for a tool to be called."""
    choices = completion.get("choices")
    if not isinstance(choices, list) or not choices:
        return False
    for choice in choices:
        message = choice.get("message") if isinstance(choice, dict) else None
        if (
            not isinstance(message, dict)
            or message.get("tool_calls")
            or message.get("function_call")
        ):
            return False
        if choice.get("finish_reason") not in ("stop", "length"):
            return False
    return True


def collect(streamed: bytes, usage: Usage) -> dict[str, Any] | None:
    """The chat.completion a streamed answer adds up to; None if it is not plain, valid text."""
    try:
        return _collect(streamed, usage)
    except (ValueError, TypeError, AttributeError):  # a chunk that is not what OpenAI sends
        return None


def _collect(streamed: bytes, usage: Usage) -> dict[str, Any] | None:
    head: dict[str, Any] = {}
    choices: dict[int, dict[str, Any]] = {}
    for frame in streamed.split(b"\n\n"):
        data = sse.data_of(frame.strip(b"\n"))
        if data is None or data == b"[DONE]":
            continue
        chunk = orjson.loads(data)
        head = head or chunk
        for part in chunk.get("choices") or ():
            if not _add_delta(choices.setdefault(int(part.get("index", 0)), {}), part):
                return None
    if not choices:
        return None
    return {
        "id": head.get("id"),
        "object": "chat.completion",
        "created": head.get("created"),
        "model": head.get("model"),
        "system_fingerprint": head.get("system_fingerprint"),
        "choices": [_choice(index, choices[index]) for index in sorted(choices)],
        "usage": {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
    }


def _add_delta(choice: dict[str, Any], part: dict[str, Any]) -> bool:
    delta = part.get("delta") or {}
    if delta.get("tool_calls") or delta.get("function_call"):
        return False
    if delta.get("role"):
        choice["role"] = delta["role"]
    if delta.get("content"):
        choice["content"] = choice.get("content", "") + delta["content"]
    if delta.get("refusal"):
        choice["refusal"] = choice.get("refusal", "") + delta["refusal"]
    if part.get("finish_reason"):
        choice["finish_reason"] = part["finish_reason"]
    return True


def _choice(index: int, choice: dict[str, Any]) -> dict[str, Any]:
    message = {
        "role": choice.get("role", "assistant"),
        "content": choice.get("content", ""),
        "refusal": choice.get("refusal"),
    }
    return {
        "index": index,
        "message": message,
        "logprobs": None,
        "finish_reason": choice.get("finish_reason"),
    }


def replay(completion: dict[str, Any], include_usage: bool) -> list[bytes]:
    """The SSE frames of a stored answer: role, content, finish per choice, usage, [DONE]."""
    head = {
        "id": completion.get("id"),
        "object": "chat.completion.chunk",
        "created": completion.get("created"),
        "model": completion.get("model"),
        "system_fingerprint": completion.get("system_fingerprint"),
    }
    frames = []
    for choice in completion.get("choices") or ():
        message = choice.get("message") or {}
        index = choice.get("index", 0)
        opening = {"role": message.get("role", "assistant"), "content": ""}
        frames.append(_chunk(head, index, opening, None, include_usage))
        if message.get("content"):
            frames.append(_chunk(head, index, {"content": message["content"]}, None, include_usage))
        if message.get("refusal"):
            frames.append(_chunk(head, index, {"refusal": message["refusal"]}, None, include_usage))
        frames.append(_chunk(head, index, {}, choice.get("finish_reason"), include_usage))
    if include_usage:
        frames.append(_frame({**head, "choices": [], "usage": completion.get("usage")}))
    frames.append(_DONE)
    return frames


def _chunk(
    head: dict[str, Any],
    index: int,
    delta: dict[str, Any],
    finish_reason: str | None,
    include_usage: bool,
) -> bytes:
    choice = {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
    chunk = {**head, "choices": [choice]}
    if include_usage:
        # OpenAI sends `usage: null` on every chunk but the last when usage is asked for.
        chunk["usage"] = None
    return _frame(chunk)


def _frame(chunk: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


class Replayed:
    """A stored answer's whole SSE replay, yielded at once (small writes wait on delayed
    ACKs). The response writer sends `data` as the stream's only chunk when nothing
    stands between it and the client; a stage that reads the frames iterates it."""

    __slots__ = ("_sent", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._sent = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        if self._sent:
            raise StopAsyncIteration
        self._sent = True
        return self.data


def replayed(body: bytes, include_usage: bool) -> tuple[bytes, str | None]:
    """The stored chat.completion `body` as one SSE replay, and the model it names."""
    if len(body) <= _KEPT_BODY_BYTES:
        return _kept_replay(body, include_usage)
    return _replay_of(body, include_usage)


def _replay_of(body: bytes, include_usage: bool) -> tuple[bytes, str | None]:
    completion = orjson.loads(body)
    return b"".join(replay(completion, include_usage)), completion.get("model")


_kept_replay = lru_cache(maxsize=_KEPT_REPLAYS)(_replay_of)
