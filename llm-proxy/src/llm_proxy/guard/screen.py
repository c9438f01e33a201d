"""One stage's detectors run over a text: one RE2 pass to see which can match, then those.

A text without a candidate anywhere (most of them) costs one linear scan for all detectors
together. Findings that overlap keep the more decisive one: a block before a redaction
before an alert, then the detectors' own order (secrets, then personal data by priority).
"""

from __future__ import annotations

from collections.abc import Sequence

import re2

from llm_proxy.guard.detectors import Detector, Finding
from llm_proxy.guard.text import Text

_RANK = {"block": 0, "redact": 1, "alert": 2}
Spans = dict[Detector, list[tuple[int, int]]]


class Screen:
    __slots__ = (
        "_always",
        "_ascii_gated",
        "_filtered",
        "_order",
        "_set",
        "detectors",
    )

    def __init__(self, detectors: Sequence[Detector]) -> None:
        ordered = sorted(detectors, key=lambda d: _RANK[d.action])
        self.detectors = tuple(ordered)
        self._order = {detector: rank for rank, detector in enumerate(ordered)}
        self._always = tuple(d for d in ordered if d.prefilter is None)
        self._filtered = tuple(d for d in ordered if d.prefilter is not None)
        self._set = _set_of(self._filtered)
        self._ascii_gated = tuple(d for d in self._filtered if d.ascii_prefilter)

    def __bool__(self) -> bool:
        return bool(self.detectors)

    def scan(self, value: str) -> list[Finding]:
        """The findings in `value`, in text order, none overlapping another."""
        if not value or not self.detectors:
            return []
        text = Text(value)
        active = list(self._always) if text.ascii else [*self._always, *self._ascii_gated]
        if self._set is not None:
            for index in self._set.Match(text.data) or ():
                detector = self._filtered[index]
                if text.ascii or not detector.ascii_prefilter:
                    active.append(detector)
        if not active:
            return []
        spans: Spans = {detector: list(detector.find(text)) for detector in active}
        return self._resolve(spans)

    def _resolve(self, spans: Spans) -> list[Finding]:
        taken: list[Finding] = []
        for detector in sorted((d for d in spans if spans[d]), key=self._order.__getitem__):
            for start, end in spans[detector]:
                finding = Finding(detector, start, end)
                if not any(finding.overlaps(other) for other in taken):
                    taken.append(finding)
        taken.sort(key=lambda finding: finding.start)
        return taken


def _set_of(detectors: Sequence[Detector]) -> re2.Set | None:
    """One RE2 set of the detectors' prefilters (index i: detector i), or None for none."""
    if not detectors:
        return None
    options = re2.Options()
    # The set runs as one DFA; past its memory budget RE2 gives up on a text (and says so
    # in the log) instead of answering, so the budget is generous.
    options.max_mem = 64 << 20
    candidates = re2.Set.SearchSet(options)
    for detector in detectors:
        candidates.Add(detector.prefilter)
    candidates.Compile()
    return candidates
