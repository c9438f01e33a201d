"""Prompt-injection heuristics: a score in [0, 1] from phrases attacks are made of.

Each family of signals (instructions overridden, a jailbreak persona, the system prompt
asked for, chat-template markers, a request to drop restrictions, an encoded payload) adds
its weight once; the score is 1 - Π(1 - weight), so independent signals reinforce each other
and no single weak one crosses a sensible threshold alone. Deterministic and sub-millisecond:
no model, no network.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator

import re2

from llm_proxy.guard.text import Text

ENTITY = "prompt_injection"

_FAMILIES: dict[str, tuple[float, bytes]] = {
    "override": (
        0.6,
        rb"(?:ignore|disregard|forget|override|bypass|skip)\s+(?:all\s+|any\s+|the\s+|your\s+"
        rb"|my\s+|of\s+)*(?:previous|prior|above|earlier|preceding|original|system|initial)"
        rb"\s+(?:instructions?|prompts?|rules|directions|guidelines|messages|context|orders)",
    ),
    "persona": (
        0.45,
        rb"you\s+are\s+now\s+(?:in\s+)?(?:dan|developer\s+mode|jailbroken|unrestricted|unfiltered"
        rb"|evil)|do\s+anything\s+now|\bdan\s+mode|developer\s+mode\s+(?:enabled|on)"
        rb"|pretend\s+(?:that\s+)?you\s+(?:are|have)\s+no\s+(?:rules|restrictions|limits)"
        rb"|act\s+as\s+an?\s+(?:unrestricted|unfiltered|uncensored|evil)|\bjailbreak",
    ),
    "exfiltrate": (
        0.45,
        rb"(?:reveal|print|show|repeat|output|leak|tell\s+me)\s+(?:me\s+)?(?:your|the)\s+"
        rb"(?:system\s+prompt|hidden\s+instructions|initial\s+instructions|instructions\s+above"
        rb"|original\s+prompt|secret\s+instructions)",
    ),
    "template": (
        0.45,
        rb"<\|im_start\|>\s*system|<\|system\|>|\[/?INST\]|\[system\]|###\s*system\s*:"
        rb"|new\s+instructions\s*:|system\s*override",
    ),
    "unrestricted": (
        0.3,
        rb"without\s+(?:any\s+)?(?:restrictions|filters|censorship|limitations|safety)"
        rb"|no\s+(?:restrictions|filters|guidelines|rules)\s+apply",
    ),
    "encoded": (0.3, rb"[A-Za-z0-9+/]{40,}={0,2}"),
}
PATTERN = b"(?i)" + b"|".join(
    b"(?P<" + name.encode() + b">" + layout + b")" for name, (_, layout) in _FAMILIES.items()
)
_CANDIDATE = re2.compile(PATTERN)
_PLAIN = re2.compile(
    b"(?i)" + b"|".join(layout for name, (_, layout) in _FAMILIES.items() if name != "encoded")
)


def score(text: Text) -> float:
    seen: set[str] = set()
    for match in _CANDIDATE.finditer(text.data):
        family = (match.lastgroup or b"").decode()
        if family == "encoded":
            if not _decodes_to_instructions(match.group()):
                continue
            seen.add("override")
        seen.add(family)
    remaining = 1.0
    for family in seen:
        remaining *= 1.0 - _FAMILIES[family][0]
    return 1.0 - remaining


def finder(threshold: float) -> Callable[[Text], Iterator[tuple[int, int]]]:
    """The whole text, when its score reaches the threshold."""

    def find(text: Text) -> Iterator[tuple[int, int]]:
        if score(text) >= threshold:
            yield 0, len(text.value)

    return find


def _decodes_to_instructions(payload: bytes) -> bool:
    """Base64 whose plain text itself carries one of the phrases above."""
    try:
        decoded = base64.b64decode(payload + b"=" * (-len(payload) % 4), validate=False)
    except (binascii.Error, ValueError):
        return False
    return _PLAIN.search(decoded) is not None
