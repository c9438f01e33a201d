"""Payment card numbers: 13 to 19 digits in an issuer's range whose Luhn checksum holds.

Digits are compact or grouped by one kind of separator (`4111 1111 1111 1111`, Amex's
4-6-5). The checksum is `python-stdnum`'s; the ranges are the networks' published prefixes,
so a Luhn-valid number outside every network (an order id that happens to pass) is no card.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import re2
from stdnum import luhn

from llm_proxy.guard.text import Text

ENTITY = "credit_card"
PATTERN = (
    rb"\d{13,19}|\d{4} \d{4} \d{4} \d{4}(?: \d{1,3})?|\d{4}-\d{4}-\d{4}-\d{4}(?:-\d{1,3})?"
    rb"|\d{4} \d{6} \d{4,5}|\d{4}-\d{6}-\d{4,5}"
)
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"\d{4}[ -]?\d{4}[ -]?\d{4}[ -]?\d|\d{4}[ -]\d{6}[ -]\d{4}"

# (first digits as a range, allowed lengths), by network.
_ISSUERS: tuple[tuple[int, int, frozenset[int]], ...] = (
    (4, 4, frozenset({13, 16, 19})),  # Visa
    (51, 55, frozenset({16})),  # Mastercard
    (2221, 2720, frozenset({16})),  # Mastercard 2-series
    (34, 34, frozenset({15})),  # American Express
    (37, 37, frozenset({15})),
    (6011, 6011, frozenset({16, 17, 18, 19})),  # Discover
    (644, 649, frozenset({16, 17, 18, 19})),
    (65, 65, frozenset({16, 17, 18, 19})),
    (3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (300, 305, frozenset({14, 16, 17, 18, 19})),  # Diners Club
    (36, 36, frozenset({14, 16, 17, 18, 19})),
    (38, 39, frozenset({16, 17, 18, 19})),
    (62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
)


def issued(digits: str) -> bool:
    """True when some network issues numbers of this prefix and length."""
    for low, high, lengths in _ISSUERS:
        if len(digits) in lengths and low <= int(digits[: len(str(low))]) <= high:
            return True
    return False


def find(text: Text) -> Iterator[tuple[int, int]]:
    data = text.data
    position = 0
    while (match := _CANDIDATE.search(data, position)) is not None:
        start, end = match.span()
        found = _card(text, start, end, match.group())
        if found is None:
            # A rejected candidate may have swallowed the start of a card: look again after
            # its first digit.
            position = start + 1
            continue
        yield text.chars(start, found)
        position = found


def _card(text: Text, start: int, end: int, found: bytes) -> int | None:
    """Where the card starting at `start` ends, if the candidate is one."""
    separator = 0x20 if b" " in found else 0x2D
    if not text.bounded(start, end, b"+-", b"-") or text.in_digit_groups(start, end, separator):
        return None
    return end if _valid(found.replace(b" ", b"").replace(b"-", b"").decode()) else None


@functools.lru_cache(maxsize=4096)
def _valid(digits: str) -> bool:
    # A pure function of the number, memoised like the other validators.
    return issued(digits) and bool(luhn.is_valid(digits))
