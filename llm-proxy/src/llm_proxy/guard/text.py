"""A text as the checks scan it: UTF-8 bytes for RE2, character offsets for the caller.

RE2 scans bytes in linear time; offsets it reports are byte offsets, turned into character
offsets only for the few candidates that become findings (free when the text is ASCII).
RE2 has no look-around, so the boundary a candidate needs is checked here, on the bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class Text:
    __slots__ = ("ascii", "data", "value")

    def __init__(self, value: str) -> None:
        self.value = value
        self.data = value.encode("utf-8", "surrogatepass")
        self.ascii = len(self.data) == len(value)

    def chars(self, start: int, end: int) -> tuple[int, int]:
        """Character offsets of a byte range."""
        if self.ascii:
            return start, end
        head = len(self.data[:start].decode("utf-8", "surrogatepass"))
        return head, head + len(self.data[start:end].decode("utf-8", "surrogatepass"))

    def bounded(self, start: int, end: int, before: bytes = b"", after: bytes = b"") -> bool:
        """No word character (nor one of `before`/`after`) touches the byte range's ends."""
        return self.opens(start, before) and self.closes(end, after)

    def opens(self, start: int, before: bytes = b"") -> bool:
        """No word character (nor one of `before`) comes right before `start`."""
        if start == 0:
            return True
        byte = self.data[start - 1]
        return not (byte in _WORD or byte >= 0x80 or byte in before)

    def closes(self, end: int, after: bytes = b"") -> bool:
        """No word character (nor one of `after`) comes right after `end`."""
        if end >= len(self.data):
            return True
        byte = self.data[end]
        return not (byte in _WORD or byte >= 0x80 or byte in after)

    def in_digit_groups(self, start: int, end: int, separator: int, letters: bool = False) -> bool:
        """The range is some groups of a longer run of groups (`1234 [5678 9012]`, `DK64 [4528 …]`).

        `letters`: a group of capitals before counts too (the bank code of `GB03 KLHY …`).
        """
        data = self.data
        before = data[max(0, start - 5) : start]
        after = data[end : end + 5]
        return (len(before) == 5 and before[4] == separator and _group(before[:4], letters)) or (
            len(after) == 5 and after[0] == separator and _group(after[1:], False)
        )

    def preceded_by_word(self, start: int, words: frozenset[bytes]) -> bool:
        """One of `words` (lower case) is the word just before the range."""
        head = self.data[max(0, start - 16) : start].rstrip(b" \t\n\"'([<{:=")
        word = head[len(head.rstrip(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")) :]
        return word.lower() in words

    def followed_by_digit_after(self, end: int, separator: int) -> bool:
        """`1.2.3.4` followed by `.5`: the candidate is part of a longer dotted run."""
        data = self.data
        return end + 1 < len(data) and data[end] == separator and 0x30 <= data[end + 1] <= 0x39


def _group(chunk: bytes, letters: bool) -> bool:
    """Four digits or capitals (with a digit, unless `letters`): a group of a longer code."""
    return all(0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A for b in chunk) and (
        letters or any(0x30 <= b <= 0x39 for b in chunk)
    )


def matches(pattern: Any, text: Text) -> Iterator[tuple[int, int, bytes]]:
    """Byte spans and bytes of a compiled RE2 pattern's matches."""
    for match in pattern.finditer(text.data):
        start, end = match.span()
        yield start, end, match.group()
