"""IPv4 and IPv6 addresses, as the standard library's `ipaddress` parses them.

A dotted quad inside a longer dotted run (`v1.2.3.4`, `1.2.3.4.5`) is a version or an OID,
not an address; colon groups need a digit, so `dead:beef` words and C++ `a::b` stay.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import re2

from llm_proxy.guard.text import Text, matches

ENTITY = "ip_address"
_HEX = rb"[0-9A-Fa-f]{1,4}"
# IPv6 first: an address with an IPv4 tail (`::ffff:192.0.2.1`) is one address. IPv6 needs
# all eight groups or a `::`, so times (`14:21:07`) and MAC addresses are no candidates.
PATTERN = (
    rb"(?:[0-9A-Fa-f:]*::(?:[0-9A-Fa-f]{1,4}:){0,5}|(?:" + _HEX + rb":){6})\d{1,3}(?:\.\d{1,3}){3}"
    rb"|(?:"
    + _HEX
    + rb":){7}"
    + _HEX
    + rb"|(?:"
    + _HEX
    + rb":){1,6}:(?::?"
    + _HEX
    + rb"){0,6}|::"
    + _HEX
    + rb"(?::"
    + _HEX
    + rb"){0,6}"
    rb"|(?:\d{1,3}\.){3}\d{1,3}"
)
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d|::|(?:[0-9A-Fa-f]{1,4}:){7}"
# `version 1.2.3.4` is a version, however much it looks like an address.
_VERSION_WORDS = frozenset(
    (b"version", b"release", b"build", b"ver", b"ver.", b"v", b"rev", b"firmware")
)


def find(text: Text) -> Iterator[tuple[int, int]]:
    for start, end, found in matches(_CANDIDATE, text):
        if not text.bounded(start, end, b".:", b":") or text.followed_by_digit_after(end, 0x2E):
            continue
        if text.preceded_by_word(start, _VERSION_WORDS):
            continue
        candidate = found.decode()
        if ":" in candidate:
            digits = any(ch.isdigit() for ch in candidate)
            if digits and candidate.strip(":") and _valid(candidate, ipaddress.IPv6Address):
                yield text.chars(start, end)
        elif _valid(candidate, ipaddress.IPv4Address):
            yield text.chars(start, end)


def _valid(candidate: str, kind: type[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> bool:
    try:
        kind(candidate)
    except ValueError:
        return False
    return True
