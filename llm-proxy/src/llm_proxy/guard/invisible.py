"""Characters a reader cannot see: zero-width and bidirectional controls, Unicode tag characters.

They hide instructions from a human reviewer (tag characters spell ASCII invisibly; bidi
overrides reorder what is shown, as in Trojan Source). A zero-width joiner between emoji is
how families and flags are drawn, so it is left alone there.
"""

from __future__ import annotations

from collections.abc import Iterator

import re2

from llm_proxy.guard.text import Text

ENTITY = "invisible"
_CHARACTERS = (
    r"\x{00AD}\x{061C}\x{180E}\x{200B}-\x{200F}\x{202A}-\x{202E}\x{2060}-\x{2064}"
    r"\x{2066}-\x{2069}\x{FEFF}\x{E0000}-\x{E007F}"
)
PATTERN = f"[{_CHARACTERS}]+".encode()
_CANDIDATE = re2.compile(PATTERN)
_ZWJ = "\u200d"


def find(text: Text) -> Iterator[tuple[int, int]]:
    if text.ascii:
        return
    for match in _CANDIDATE.finditer(text.data):
        start, end = text.chars(*match.span())
        if text.value[start:end] == _ZWJ and _between_emoji(text.value, start, end):
            continue
        yield start, end


def _between_emoji(value: str, start: int, end: int) -> bool:
    return (
        start > 0
        and end < len(value)
        and _pictographic(value[start - 1])
        and _pictographic(value[end])
    )


def _pictographic(char: str) -> bool:
    code = ord(char)
    return code >= 0x1F000 or 0x2600 <= code <= 0x27BF or 0xFE00 <= code <= 0xFE0F
