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


class Screen:
    __slots__ = ("_always", "_filtered", "_set", "detectors")

    def __init__(self, detectors: Sequence[Detector]) -> None:
        ordered = sorted(detectors, key=lambda d: _RANK[d.action])
        self.detectors = tuple(ordered)
        self._always = tuple(d for d in ordered if d.prefilter is None)
        self._filtered = tuple(d for d in ordered if d.prefilter is not None)
        self._set = None
        if self._filtered:
            options = re2.Options()
            # The set runs as one DFA; past its memory budget RE2 gives up on a text (and
            # says so in the log) instead of answering, so the budget is generous.
            options.max_mem = 64 << 20
            candidates = re2.Set.SearchSet(options)
            for detector in self._filtered:
                candidates.Add(detector.prefilter)
            candidates.Compile()
            self._set = candidates

    def __bool__(self) -> bool:
        return bool(self.detectors)

    def scan(self, value: str) -> list[Finding]:
        """The findings in `value`, in text order, none overlapping another."""
        if not value or not self.detectors:
            return []
        text = Text(value)
        active: Sequence[Detector] = self._always
        if self._set is not None:
            matched = self._set.Match(text.data)
            if matched:
                chosen = set(matched)
                hits = [d for i, d in enumerate(self._filtered) if i in chosen]
                active = sorted([*self._always, *hits], key=self.detectors.index)
        taken: list[Finding] = []
        for detector in active:
            for start, end in detector.find(text):
                finding = Finding(detector, start, end)
                if not any(finding.overlaps(other) for other in taken):
                    taken.append(finding)
        taken.sort(key=lambda finding: finding.start)
        return taken
