"""US social security numbers, `NNN-NN-NNNN` (or spaced), with the never-issued ranges excluded.

`python-stdnum` refuses area 000, 666 and 900-999, group 00, serial 0000 and the numbers
published in advertising (078-05-1120 and its kind).
"""

from __future__ import annotations

from collections.abc import Iterator

import re2
from stdnum.us import ssn

from llm_proxy.guard.text import Text, matches

ENTITY = "us_ssn"
PATTERN = rb"\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}"
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"\d{3}[- ]\d{2}[- ]\d{4}"


def find(text: Text) -> Iterator[tuple[int, int]]:
    for start, end, found in matches(_CANDIDATE, text):
        if text.bounded(start, end, b"-", b"-") and ssn.is_valid(
            found.replace(b" ", b"-").decode()
        ):
            yield text.chars(start, end)
