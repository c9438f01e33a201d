"""National identity numbers of countries whose numbers carry a checksum, via `python-stdnum`.

Each layout is matched as people write it and then validated by stdnum, which checks the
check digit (and, where the number holds one, the birth date): Spain's DNI, Italy's codice
fiscale, Brazil's CPF, Finland's HETU, Sweden's personnummer, India's Aadhaar (Verhoeff) and
China's resident id. Layouts without a checksum are left out: they cannot be told from ids.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator

import re2
from stdnum.br import cpf
from stdnum.cn import ric
from stdnum.es import dni
from stdnum.fi import hetu
from stdnum.in_ import aadhaar
from stdnum.it import codicefiscale
from stdnum.se import personnummer

from llm_proxy.guard.text import Text

ENTITY = "national_id"

_LAYOUTS: tuple[tuple[bytes, Callable[[str], bool]], ...] = (
    (rb"\d{8}-?[A-Z]", dni.is_valid),
    (rb"[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]", codicefiscale.is_valid),
    (rb"\d{3}\.\d{3}\.\d{3}-\d{2}", cpf.is_valid),
    (rb"[0-3]\d[01]\d{3}[-+A]\d{3}[0-9A-Y]", hetu.is_valid),
    (rb"\d{6}[-+]\d{4}", personnummer.is_valid),
    (rb"[2-9]\d{3} \d{4} \d{4}", aadhaar.is_valid),
    (rb"[1-9]\d{16}[\dX]", ric.is_valid),
)
PATTERN = b"|".join(layout for layout, _ in _LAYOUTS)
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = (
    rb"\d{8}-?[A-Z]|[A-Z]{6}\d\d|\d{3}\.\d{3}\.\d{3}-|\d{6}[-+A]\d{3}|\d{4} \d{4} \d{4}|\d{17}"
)
# Several layouts can fit one candidate (`020326-2639` is shaped like a HETU and a
# personnummer): each that fits it is asked.
_WHOLE = tuple((re2.compile(layout), valid) for layout, valid in _LAYOUTS)


def find(text: Text) -> Iterator[tuple[int, int]]:
    for match in _CANDIDATE.finditer(text.data):
        start, end = match.span()
        if not text.bounded(start, end, b".+-", b"-") or text.followed_by_digit_after(end, 0x2E):
            continue
        found = match.group()
        if b" " in found and text.in_digit_groups(start, end, 0x20, letters=True):
            continue
        if _valid(found):
            yield text.chars(start, end)


@functools.lru_cache(maxsize=4096)
def _valid(found: bytes) -> bool:
    # A pure function of the candidate, memoised like the other dear validators.
    number = found.decode()
    return any(layout.fullmatch(found) and valid(number) for layout, valid in _WHOLE)
