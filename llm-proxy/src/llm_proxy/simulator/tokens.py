"""Prompt token counting: cl100k_base when its vocabulary is on disk, an estimate otherwise."""

from __future__ import annotations

import base64
import importlib.util
import os
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

# tiktoken names its cache files after the SHA-1 of the download URL; this is cl100k_base's.
_CL100K_CACHE_KEY = "9b5ad71b2ce5302211f9c61530b329a4922fc6a4"
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|"""
    r"""\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def _vocabulary_candidates() -> list[Path]:
    dirs = [os.environ.get("TIKTOKEN_CACHE_DIR"), os.environ.get("DATA_GYM_CACHE_DIR")]
    dirs.append(os.path.join(tempfile.gettempdir(), "data-gym-cache"))
    # LiteLLM ships the vocabulary inside its wheel; find_spec locates it without importing it.
    spec = importlib.util.find_spec("litellm")
    if spec is not None and spec.submodule_search_locations:
        for root in spec.submodule_search_locations:
            dirs.append(os.path.join(root, "litellm_core_utils", "tokenizers"))
    return [Path(d, _CL100K_CACHE_KEY) for d in dirs if d]


def _load_cl100k() -> Callable[[str], int] | None:
    """The exact counter, built from a local copy only: the simulator must never download."""
    path = next((p for p in _vocabulary_candidates() if p.is_file()), None)
    if path is None:
        return None
    import tiktoken

    ranks = {}
    for line in path.read_bytes().splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    encoding = tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=_CL100K_SPECIAL,
    )
    return lambda text: len(encoding.encode_ordinary(text))


def _estimate(text: str) -> int:
    # English averages about four characters per cl100k token.
    return (len(text) + 3) // 4


@cache
def _counter() -> Callable[[str], int]:
    return _load_cl100k() or _estimate


def count_tokens(text: str) -> int:
    """Tokens in `text` as OpenAI's cl100k_base counts them (estimated if unavailable)."""
    if not text:
        return 0
    return _counter()(text)


def warm_up() -> None:
    """Load the vocabulary now, so the first request does not pay for it."""
    _counter()
