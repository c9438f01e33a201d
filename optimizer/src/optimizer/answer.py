"""The final answer in OpenAI's chat completion format: one body, or SSE chunks."""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from optimizer.run import Outcome


def _usage(outcome: Outcome) -> dict[str, int]:
    tally = outcome.tally
    return {
        "prompt_tokens": tally.prompt_tokens,
        "completion_tokens": tally.completion_tokens,
        "total_tokens": tally.total_tokens,
    }


def completion(outcome: Outcome, model: str) -> bytes:
    message = {"role": "assistant", "content": outcome.answer, "refusal": None}
    return orjson.dumps(
        {
            "id": _new_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}
            ],
            "usage": _usage(outcome),
        }
    )


def chunks(outcome: Outcome, model: str, include_usage: bool) -> list[bytes]:
    """The answer as OpenAI streams it: role, content, finish, usage when asked, [DONE]."""
    envelope: dict[str, Any] = {
        "id": _new_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return event({**envelope, "choices": [choice]})

    frames = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": outcome.answer}),
        chunk({}, "stop"),
    ]
    if include_usage:
        frames.append(event({**envelope, "choices": [], "usage": _usage(outcome)}))
    # The summary the response headers could not carry: they left before the run ended.
    frames.append(f": x-gateway-optimizer: {outcome.header()}\n\n".encode())
    frames.append(b"data: [DONE]\n\n")
    return frames


def error_body(status: int, message: str, code: str, param: str | None = None) -> bytes:
    kind = "invalid_request_error" if status < 500 else "api_error"
    if status == 429:
        kind = "rate_limit_error"
    return orjson.dumps({"error": {"message": message, "type": kind, "param": param, "code": code}})


def event(value: dict[str, Any]) -> bytes:
    return b"data: " + orjson.dumps(value) + b"\n\n"


def _new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex
