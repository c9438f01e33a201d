"""International bank account numbers: `python-stdnum` checks mod-97 and each country's layout.

Written compact (`DE89370400440532013000`) or in groups of four; a grouped candidate that
swallowed a following word (`… 0130 00 EUR`) is retried without its last groups.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import re2
from stdnum import iban

from llm_proxy.guard.text import Text, matches

ENTITY = "iban"
PATTERN = rb"[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)"
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"[A-Z]{2}\d{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}"
_SHORTEST = 15


def find(text: Text) -> Iterator[tuple[int, int]]:
    for start, _end, found in matches(_CANDIDATE, text):
        if not text.opens(start, b"-"):
            continue
        candidate = found.decode()
        while len(candidate) >= _SHORTEST:
            stop = start + len(candidate)
            if text.closes(stop, b"-") and _valid(candidate):
                yield text.chars(start, start + len(candidate))
                break
            cut = candidate.rfind(" ")
            if cut < 0:
                break
            candidate = candidate[:cut]


@functools.lru_cache(maxsize=4096)
def _valid(candidate: str) -> bool:
    # A pure function of the candidate, memoised: a chat resends its history every turn,
    # and stdnum's country lookup costs tens of µs a number.
    return bool(iban.is_valid(candidate))
