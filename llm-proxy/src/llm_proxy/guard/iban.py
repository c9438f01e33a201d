"""International bank account numbers: `python-stdnum` checks mod-97 and each country's layout.

Written compact (`DE89370400440532013000`) or in groups of four; a grouped candidate that
swallowed a following word (`… 0130 00 EUR`) is retried without its last groups.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import re2
from stdnum import iban, numdb, util
from stdnum.iso7064 import mod_97_10

from llm_proxy.guard.text import Text, matches

ENTITY = "iban"
PATTERN = rb"[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)"
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"[A-Z]{2}\d{2} ?[A-Z0-9]{4} ?[A-Z0-9]{4}"
_SHORTEST = 15
# stdnum's IBAN registry: each country's BBAN layout.
_REGISTRY = numdb.get("iban")


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
    # A pure function of the candidate, memoised: a chat resends its history every turn.
    # The steps of stdnum's `iban.validate`, with what depends only on the country (its
    # registry entry, its layout as a pattern, its own module) looked up once per country:
    # stdnum looks the registry up and compiles the layout again for every number, most
    # of what a new number costs (about 30 of 50 µs).
    # A candidate is capitals, digits and single spaces (PATTERN): compact once the spaces go.
    number = candidate.replace(" ", "")
    country = _country(number[:2])
    if country is None or not mod_97_10.is_valid(number[4:] + number[:4]):
        return False
    layout, module = country
    if not layout.match(number[4:]):
        return False
    return module is None or bool(module.is_valid(number))


@functools.lru_cache(maxsize=1024)
def _country(code: str) -> tuple[re.Pattern[str], Any] | None:
    """A country's BBAN layout and its own IBAN module (None: the country has no IBANs)."""
    properties = _REGISTRY.info(code)[0][1]
    if not properties:
        return None
    return iban._struct_to_re(properties.get("bban", "")), util.get_cc_module(code, "iban")
