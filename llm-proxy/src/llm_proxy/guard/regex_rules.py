"""Operators' own patterns, run by RE2: linear in the text, whatever the pattern.

A backtracking engine takes exponential time on `(a+)+$` against a long run of `a`s; RE2's
automaton cannot, so a careless (or hostile) rule cannot stall the gateway. RE2 refuses what
it cannot run in linear time (backreferences, look-around) when the config is loaded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import re2

from llm_proxy.guard.text import Text


def finder(pattern: str) -> Callable[[Text], Iterator[tuple[int, int]]]:
    """Character spans of the pattern's non-empty matches."""
    options = re2.Options()
    options.log_errors = False
    compiled = re2.compile(pattern.encode(), options)

    def find(text: Text) -> Iterator[tuple[int, int]]:
        for match in compiled.finditer(text.data):
            start, end = match.span()
            if end > start:
                yield text.chars(start, end)

    return find
