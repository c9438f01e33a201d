"""A policy's checks as detectors: what to look for, what to do with it, what to write instead.

Every span-finding check becomes one detector per thing it looks for (an entity, a kind of
secret, a rule), each with an RE2 candidate pattern when it has one: a screen runs a detector
only when its pattern matched somewhere in the text, found in one pass for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from llm_proxy.config.guardrails import Action, Checks
from llm_proxy.guard import injection, invisible, pii, regex_rules, secrets
from llm_proxy.guard.deny_list import DenyList
from llm_proxy.guard.text import Text

Finder = Callable[[Text], Iterable[tuple[int, int]]]


@dataclass(frozen=True, slots=True, eq=False)
class Detector:
    check: str
    entity: str
    action: Action
    find: Finder
    # An RE2 pattern that matches wherever `find` could find something; None: always run.
    prefilter: bytes | None = None
    restore: bool = False
    # What a redacted span becomes: a numbered placeholder `[LABEL_n]`, or "" (removed).
    label: str = ""
    # The prefilter holds only on ASCII text (other texts are always looked at).
    ascii_prefilter: bool = False


@dataclass(frozen=True, slots=True)
class Finding:
    detector: Detector
    start: int
    end: int

    def overlaps(self, other: Finding) -> bool:
        return self.start < other.end and other.start < self.end


def detectors_of(checks: Checks) -> list[Detector]:
    """The detectors of one policy's span-finding checks (caps and JSON Schema are not)."""
    found: list[Detector] = []
    if checks.secrets is not None:
        action = checks.secrets.action
        for kind in checks.secrets.kinds:
            found.append(
                Detector(
                    "secrets",
                    kind,
                    action,
                    secrets.finder(kind),
                    secrets.PREFIXES[kind],
                    label="SECRET",
                )
            )
    if checks.pii is not None:
        config = checks.pii
        for entity, (find, pattern) in pii.FINDERS.items():
            if entity in config.entities:
                found.append(
                    Detector(
                        "pii",
                        entity,
                        config.action,
                        find,
                        pattern,
                        config.restore,
                        label=entity.upper(),
                    )
                )
    if checks.deny_list is not None:
        words = DenyList(checks.deny_list.words)
        found.append(
            Detector(
                "deny_list",
                "word",
                checks.deny_list.action,
                lambda text: words.find(text.value),
                words.prefilter,
                label="DENIED",
                ascii_prefilter=True,
            )
        )
    if checks.regex is not None:
        for rule in checks.regex.rules:
            found.append(
                Detector(
                    "regex",
                    rule.name,
                    checks.regex.action,
                    regex_rules.finder(rule.pattern),
                    rule.pattern.encode(),
                    label=rule.name.upper(),
                )
            )
    if checks.unicode is not None:
        found.append(
            Detector(
                "unicode",
                invisible.ENTITY,
                checks.unicode.action,
                invisible.find,
                invisible.PATTERN,
            )
        )
    if checks.injection is not None:
        config_injection = checks.injection
        found.append(
            Detector(
                "injection",
                injection.ENTITY,
                config_injection.action,
                injection.finder(config_injection.threshold),
                injection.PATTERN,
            )
        )
    return found
