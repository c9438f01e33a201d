"""Redaction with numbered placeholders (`[EMAIL_1]`), and putting the originals back.

Within one request the same value always becomes the same placeholder, so the model can
still tell two people apart and refer to each. Only values of checks asking for `restore`
are remembered, and only on this object: it lives as long as its request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from llm_proxy.guard.detectors import Finding

_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9_]*_\d+\]")


class Redactor:
    __slots__ = ("_assigned", "_counts", "_originals")

    def __init__(self) -> None:
        self._assigned: dict[tuple[str, str], str] = {}
        self._counts: dict[str, int] = {}
        self._originals: dict[str, str] = {}

    @property
    def restores(self) -> bool:
        return bool(self._originals)

    def redact(self, value: str, findings: Sequence[Finding], restorable: bool = True) -> str:
        """`value` with each redact finding replaced (findings in text order).

        Only a request's redactions are `restorable`: what the guard takes out of an
        answer stays out.
        """
        pieces: list[str] = []
        position = 0
        for finding in findings:
            if finding.detector.action != "redact":
                continue
            pieces.append(value[position : finding.start])
            pieces.append(
                self._placeholder(finding, value[finding.start : finding.end], restorable)
            )
            position = finding.end
        if not pieces:
            return value
        pieces.append(value[position:])
        return "".join(pieces)

    def restore(self, value: str) -> str:
        """`value` with this request's restorable placeholders replaced by their originals."""
        if not self._originals or "[" not in value:
            return value
        originals = self._originals
        return _PLACEHOLDER.sub(lambda match: originals.get(match.group(), match.group()), value)

    def _placeholder(self, finding: Finding, original: str, restorable: bool) -> str:
        detector = finding.detector
        if not detector.label:
            return ""
        key = (detector.label, original)
        placeholder = self._assigned.get(key)
        if placeholder is None:
            count = self._counts.get(detector.label, 0) + 1
            self._counts[detector.label] = count
            placeholder = f"[{detector.label}_{count}]"
            self._assigned[key] = placeholder
        if restorable and detector.restore:
            self._originals[placeholder] = original
        return placeholder
