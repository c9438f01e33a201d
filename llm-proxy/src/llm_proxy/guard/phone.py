"""Telephone numbers, validated by libphonenumber (`phonenumbers`) against its numbering plans.

Only text written the way people write numbers is a candidate: international form
(`+44 20 7946 0958`, `+14155552671`) in any country, or North American national form with
separators (`(415) 555-2671`, `415-555-2671`, `415.555.2671`). A bare run of digits is an id,
not a phone number: order numbers, timestamps and account numbers stay untouched.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import phonenumbers
import re2

from llm_proxy.guard.text import Text, matches

ENTITY = "phone"
PATTERN = (
    rb"\+\d{1,3}(?:[ .-]?\(\d{1,4}\))?(?:[ .-]?\d{1,5}){1,6}"
    rb"|(?:1[ .-])?(?:\(\d{3}\) ?|\d{3}[. -])\d{3}[. -]\d{4}"
)
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"\+\d|\d{3}[. -]\d{3}[. -]\d{4}|\(\d{3}\) ?\d{3}"
_DIGITS_MIN, _DIGITS_MAX = 8, 15


def find(text: Text) -> Iterator[tuple[int, int]]:
    for start, _end, found in matches(_CANDIDATE, text):
        if not text.opens(start, b"+.-"):
            continue
        candidate = found.decode()
        whole = True
        # A candidate may have run on into a neighbouring number: retry without its tail.
        while sum(ch.isdigit() for ch in candidate) >= _DIGITS_MIN:
            stop = start + len(candidate)
            ends_well = not whole or (
                text.closes(stop, b"-") and not text.followed_by_digit_after(stop, 0x2E)
            )
            if ends_well and _valid(candidate):
                yield text.chars(start, start + len(candidate))
                break
            cut = max(candidate.rfind(" "), candidate.rfind("-"), candidate.rfind("."))
            if cut <= 0:
                break
            candidate = candidate[:cut]
            whole = False


@functools.lru_cache(maxsize=4096)
def _valid(candidate: str) -> bool:
    # A pure function of the candidate, memoised: a chat resends its history every turn,
    # and libphonenumber is the dearest validator here (~50 µs a number).
    if sum(ch.isdigit() for ch in candidate) > _DIGITS_MAX or not _consistent(candidate):
        return False
    try:
        number = phonenumbers.parse(candidate, None if candidate.startswith("+") else "US")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(number))


def _consistent(candidate: str) -> bool:
    """National numbers keep one separator (`415-555.2671` is not how anyone writes one)."""
    if candidate.startswith("+"):
        return True
    body = candidate.split(")")[-1]
    return len({ch for ch in body if ch in ".-"}) <= 1
