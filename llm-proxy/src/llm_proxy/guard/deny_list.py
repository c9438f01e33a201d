"""Deny-listed words and phrases, found in one pass by an Aho-Corasick automaton.

Matching is case-folded and on word boundaries (`falcon` is not found in `falconry`). When
folding changes a text's length (`ß` → `ss`), offsets are mapped back character by character.
`prefilter` is the words as one case-insensitive RE2 pattern: on an ASCII text, where case
folding is lower-casing, no word is there unless it matches, so the automaton need not run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import ahocorasick
import re2


class DenyList:
    def __init__(self, words: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        folded_words: list[str] = []
        for word in words:
            folded = word.casefold().strip()
            if folded:
                self._automaton.add_word(folded, len(folded))
                folded_words.append(folded)
        self._automaton.make_automaton()
        escaped = (re2.escape(word.encode()) for word in folded_words)
        self.prefilter = b"(?i)(?:" + b"|".join(escaped) + b")"

    def find(self, text: str) -> Iterator[tuple[int, int]]:
        folded, origin = _fold(text)
        for last, length in self._automaton.iter(folded):
            start, end = last - length + 1, last + 1
            if _boundary(folded, start - 1) and _boundary(folded, end):
                if origin is None:
                    yield start, end
                else:
                    yield origin[start], origin[end - 1] + 1


def _fold(text: str) -> tuple[str, list[int] | None]:
    """The case-folded text and, when folding changed its length, each character's origin."""
    folded = text.casefold()
    if len(folded) == len(text):
        return folded, None
    origin: list[int] = []
    pieces: list[str] = []
    for index, char in enumerate(text):
        piece = char.casefold()
        pieces.append(piece)
        origin.extend([index] * len(piece))
    return "".join(pieces), origin


def _boundary(text: str, index: int) -> bool:
    return index < 0 or index >= len(text) or not (text[index].isalnum() or text[index] == "_")
