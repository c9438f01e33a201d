"""What a detector reports: where in a text something sensitive is, and what it is.

A span never carries the matched text: hits travel to logs, metrics and headers by entity
name only, and the text stays with the request that holds it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    entity: str
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end
