"""Counting prompt tokens with tiktoken, cheaply enough for the hot path.

tiktoken downloads its BPE tables on first use; LiteLLM's wheel carries them, so the
tokenizer is pointed at that folder (found without importing LiteLLM) and works offline.
"""

from __future__ import annotations

import importlib.util
import os
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import tiktoken

# Per-message framing tokens in OpenAI's chat format.
_PER_MESSAGE = 3


@cache
def _encoding() -> tiktoken.Encoding:
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        spec = importlib.util.find_spec("litellm")
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations)))
            os.environ["TIKTOKEN_CACHE_DIR"] = str(root / "litellm_core_utils" / "tokenizers")
    return tiktoken.get_encoding("o200k_base")


def count_text(text: str) -> int:
    return len(_encoding().encode_ordinary(text))


# Where each API puts its cap on output tokens.
OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    """The prompt's tokens in any of the client APIs: chat and Anthropic `messages`, the
    Responses API's `input` items, a text completion's `prompt` and `suffix`; plus tools."""
    total = 0
    for message in _prompt_items(body):
        if not isinstance(message, dict):
            continue
        total += _PER_MESSAGE + count_text(
            _text_of(message.get("content") or message.get("output"))
        )
        if message.get("type") == "function_call":
            total += count_text(str(message.get("name", "")) + str(message.get("arguments", "")))
    for field in ("system", "instructions", "prompt", "suffix"):
        value = body.get(field)
        if value is not None:
            total += count_text(_text_of(value))
    tools = body.get("tools")
    if isinstance(tools, list) and tools:
        total += count_text(orjson.dumps(tools).decode())
    return total


def output_cap(body: dict[str, Any]) -> int | None:
    """The request's own limit on output tokens, if it sets a usable one."""
    for name in OUTPUT_LIMITS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _prompt_items(body: dict[str, Any]) -> Any:
    messages = body.get("messages")
    if messages is not None:
        return messages if isinstance(messages, list) else ()
    items = body.get("input")
    if isinstance(items, str):
        return ({"content": items},)
    return items if isinstance(items, list) else ()


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return ""
