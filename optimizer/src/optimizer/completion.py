"""A sub-call's answer as the approaches read it: OpenAI's chat completion, the parts they use.

OptiLLM's approaches read `choices[i].message.content`, `choices[i].finish_reason` and
`usage.completion_tokens` (and `model_dump()` only when given a request id to log, which
this service never gives). Validating the gateway's answer into the SDK's pydantic
`ChatCompletion` cost about a quarter of this service's CPU per sub-call; these plain
values, read with orjson, cost a few microseconds. The gateway already holds its answers
to OpenAI's schema, so the shape is checked here only as far as the approaches read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson


class NotACompletion(ValueError):
    """The answer is not a chat completion the approaches can read."""


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str | None


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    message: Message
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True, slots=True)
class Completion:
    choices: list[Choice]
    usage: Usage | None


def parse(raw: bytes) -> Completion:
    try:
        body = orjson.loads(raw)
        choices = [_choice(choice) for choice in body["choices"]]
        usage = body.get("usage")
        return Completion(choices, None if usage is None else _usage(usage))
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
        raise NotACompletion(f"{type(exc).__name__}: {exc}") from None


def _choice(choice: dict[str, Any]) -> Choice:
    message = choice["message"]
    content = message.get("content")
    if content is not None and not isinstance(content, str):
        raise TypeError("message.content is not text")
    return Choice(
        index=int(choice.get("index", 0)),
        message=Message(str(message.get("role", "assistant")), content),
        finish_reason=choice.get("finish_reason"),
    )


def _usage(usage: dict[str, Any]) -> Usage:
    prompt, completion = int(usage["prompt_tokens"]), int(usage["completion_tokens"])
    return Usage(prompt, completion, int(usage.get("total_tokens", prompt + completion)))
