"""What identifies a cached answer: the exact key, and the scope and prompt a semantic hit needs.

The exact key hashes everything in the request that can change the answer; the fields below
cannot, so they are left out (a streamed and an unstreamed request share their answer). Unknown
fields stay in: a parameter we have never heard of is assumed to matter.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson

_NOT_OUTPUT = frozenset(
    {
        "stream",
        "stream_options",
        "metadata",
        "user",
        "store",
        "service_tier",
        "prompt_cache_key",
        "safety_identifier",
    }
)
# OpenAI's default when a request names no temperature.
_DEFAULT_TEMPERATURE = 1.0


@dataclass(frozen=True, slots=True)
class Prompt:
    """The last user message, and the hash of everything around it that must match exactly."""

    context: str
    text: str


def _digest(*parts: bytes) -> str:
    return hashlib.blake2b(b"\0".join(parts), digest_size=20).hexdigest()


def _canonical(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def exact_key(scope: str, model: str, body: dict[str, Any]) -> str:
    request = {k: v for k, v in body.items() if k not in _NOT_OUTPUT and k != "model"}
    return _digest(scope.encode(), model.encode(), _canonical(request))


def tool_calls_in_flight(messages: list[Any]) -> bool:
    """An agent is between a tool call and its answer: replaying a stored turn is not safe."""
    # A loop, not any() over a generator: this runs on every cached request.
    for m in messages:
        if isinstance(m, dict) and (
            m.get("role") in ("tool", "function") or m.get("tool_calls") or m.get("function_call")
        ):
            return True
    return False


def semantic_prompt(
    scope: str, model: str, body: dict[str, Any], max_temperature: float
) -> Prompt | None:
    """The prompt a semantic lookup may match, or None when this request must match exactly.

    Only the last message may vary: the system prompt, the earlier turns, the tool schemas
    and every parameter go into `context`, so a neighbour is only found among requests that
    agree on all of them (a single-turn request or a stable conversation prefix).
    """
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = messages[-1]
    if not isinstance(last, dict) or last.get("role") != "user":
        return None
    temperature = body.get("temperature", _DEFAULT_TEMPERATURE)
    if not isinstance(temperature, int | float) or temperature > max_temperature:
        return None
    if body.get("n", 1) != 1:
        return None
    text = _text_only(last.get("content"))
    if text is None or not text.strip():
        return None
    request = {k: v for k, v in body.items() if k not in _NOT_OUTPUT and k not in ("model",)}
    request["messages"] = messages[:-1]
    return Prompt(_digest(scope.encode(), model.encode(), _canonical(request)), text)


def semantic_scope(prompt: Prompt, embedder: str) -> str:
    """Where a prompt's neighbours are looked for: its context, embedded by the same model."""
    return f"{prompt.context}:{embedder}"


def _text_only(content: Any) -> str | None:
    """The message's text, or None if it carries anything else (images, audio, files)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if not isinstance(part, dict) or part.get("type") != "text":
            return None
        texts.append(str(part.get("text", "")))
    return "\n".join(texts)
