"""Counting a request's prompt tokens with tiktoken, every part that is sent, cheaply.

Everything a provider bills as input counts, in any of the client APIs (chat and Anthropic
`messages`, the Responses API's `input` items and `instructions`, a text completion's
`prompt` and `suffix`): each message's or item's text and name, the tool calls an
assistant turn carries and the tool results sent back, system prompts (a string or
blocks), tool definitions, `response_format` schemas, and images. A limit is only as good
as its count: text a client hides in a tool description or an unknown content part is
counted all the same (any part of an unknown type counts as the text of its JSON).

Images cannot be measured without fetching them, so each counts at its provider's
ceiling: OpenAI's detail "low" is 85 tokens and any other detail at most 1,445 (a
2048 by 768 image in 512-px tiles: 85 + 8 * 170); Anthropic's image blocks at most 1,600.

tiktoken downloads its BPE tables on first use; LiteLLM's wheel carries them, so the
tokenizer is pointed at that folder (found without importing LiteLLM) and works offline.
The table (~0.5 s to load, ~80 MiB resident) is loaded before serving when the config
counts every request (`gateway._warm_tokenizer`), otherwise on the first count: a gateway
whose limits, routing and guards never need a count, and whose upstreams report their
usage, never loads it.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import tiktoken

# Per-message framing tokens in OpenAI's chat format.
_PER_MESSAGE = 3
_IMAGE_LOW_DETAIL = 85
_IMAGE_OPENAI_MAX = 85 + 8 * 170
_IMAGE_ANTHROPIC_MAX = 1600
# Text parts whose value is the text itself.
_TEXT_PARTS = frozenset({"text", "input_text", "output_text"})
# Top-level fields that carry prompt text besides the messages.
_PROMPTS = ("system", "instructions", "prompt", "suffix")
_DEFINITIONS = ("tools", "functions", "tool_choice", "response_format", "text")
# Where each API puts its cap on output tokens.
OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens", "max_output_tokens")


@cache
def _encoding() -> tiktoken.Encoding:
    if "TIKTOKEN_CACHE_DIR" not in os.environ:
        spec = importlib.util.find_spec("litellm")
        if spec is not None and spec.submodule_search_locations:
            root = Path(next(iter(spec.submodule_search_locations)))
            os.environ["TIKTOKEN_CACHE_DIR"] = str(root / "litellm_core_utils" / "tokenizers")
    return tiktoken.get_encoding("o200k_base")


def count_text(text: str) -> int:
    return len(_encoding().encode_ordinary(text)) if text else 0


def count_request_tokens(api: str, body: dict[str, Any]) -> int:
    """The input tokens of a request to any of the client APIs."""
    if api == "embeddings":
        return _input_tokens(body.get("input"))
    return estimate_prompt_tokens(body)


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    """A prompt's tokens: messages or input items, system prompts, definitions."""
    texts: list[str] = []
    total = 0
    for message in _prompt_items(body):
        if not isinstance(message, dict):
            continue
        total += _PER_MESSAGE
        for key, value in message.items():
            if key in ("content", "output"):
                total += _content(value, texts)
            elif key not in ("role", "type"):
                # name, tool_calls (function names and arguments), tool_call_id, …
                texts.extend(_strings(value))
    for name in _PROMPTS:
        value = body.get(name)
        if value is not None:
            total += _content(value, texts)
    for name in _DEFINITIONS:
        value = body.get(name)
        if isinstance(value, dict | list):
            texts.extend(_strings(value))
    return total + count_text(" ".join(texts))


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


def _content(content: Any, texts: list[str]) -> int:
    """Text of a message's content goes to `texts`; returns the tokens of its images."""
    if isinstance(content, str):
        texts.append(content)
        return 0
    if not isinstance(content, list):
        texts.extend(_strings(content))
        return 0
    images = 0
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in _TEXT_PARTS and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url":
            images += _openai_image(part.get("image_url"))
        elif kind == "image":
            images += _IMAGE_ANTHROPIC_MAX
        elif kind == "tool_result":
            # Anthropic: the result's content is text or blocks (images among them).
            images += _content(part.get("content"), texts)
            texts.extend(_strings({k: v for k, v in part.items() if k != "content"}))
        else:
            # tool_use (its input), documents, input_audio, anything else: their JSON's text.
            texts.extend(_strings(part))
    return images


def _openai_image(image: Any) -> int:
    detail = image.get("detail") if isinstance(image, dict) else None
    return _IMAGE_LOW_DETAIL if detail == "low" else _IMAGE_OPENAI_MAX


def _strings(value: Any) -> Iterator[str]:
    """Every key and scalar of a JSON value, without recursion (its depth is the client's)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, inner in item.items():
                yield str(key)
                stack.append(inner)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif item is not None and not isinstance(item, bool):
            yield str(item)


def _input_tokens(value: Any) -> int:
    """Embedding input: a string, token ids, or a list of strings or of token-id lists."""
    if isinstance(value, str):
        return count_text(value)
    if not isinstance(value, list):
        return 0
    total = 0
    for item in value:
        if isinstance(item, str):
            total += count_text(item)
        elif isinstance(item, list):
            total += len(item)
        elif isinstance(item, int):
            total += 1
    return total
