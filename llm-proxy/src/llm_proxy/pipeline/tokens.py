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


def estimate_prompt_tokens(body: dict[str, Any]) -> int:
    total = 0
    for message in body.get("messages") or ():
        if not isinstance(message, dict):
            continue
        total += _PER_MESSAGE + count_text(_text_of(message.get("content")))
    system = body.get("system")
    if system is not None:
        total += count_text(_text_of(system))
    return total


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""
