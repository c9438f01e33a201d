"""E-mail addresses: a local part, an @, and a dotted domain ending in a letter-only TLD.

Image names in the retina style (`icon@2x.png`) look like addresses; a TLD that is a file
extension is refused, since no registry hands out `.png` or `.jpg`.
"""

from __future__ import annotations

from collections.abc import Iterator

import re2

from llm_proxy.guard.text import Text, matches

ENTITY = "email"
PATTERN = (
    rb"[A-Za-z0-9](?:[A-Za-z0-9._%+-]{0,62}[A-Za-z0-9_%+-])?"
    rb"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})"
)
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = rb"[A-Za-z0-9_%+-]@[A-Za-z0-9]"
_FILE_EXTENSIONS = frozenset(b"png jpg jpeg gif svg webp bmp ico tif tiff pdf js css".split())


def find(text: Text) -> Iterator[tuple[int, int]]:
    for start, end, found in matches(_CANDIDATE, text):
        tld = found[found.rfind(b".") + 1 :].lower()
        if tld not in _FILE_EXTENSIONS and text.bounded(start, end, b".%+-", b"-@"):
            yield text.chars(start, end)
