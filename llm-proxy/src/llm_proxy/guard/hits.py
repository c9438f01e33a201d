"""What the guard did, by check and entity, never with the text it matched.

Hits go to the spend log, the `gateway_guardrail_hits_total` metric and the
`x-gateway-guardrails` header; `Blocked` ends a request (or an answer) a policy refused.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from llm_proxy.guard.detectors import Finding


@dataclass(frozen=True, slots=True)
class Hit:
    stage: str
    check: str
    entity: str
    action: str
    count: int = 1

    def as_dict(self) -> dict[str, str | int]:
        return {
            "stage": self.stage,
            "check": self.check,
            "entity": self.entity,
            "action": self.action,
            "count": self.count,
        }


class Blocked(Exception):
    """A block action fired; `hits` holds everything found up to then."""

    def __init__(self, hit: Hit, hits: list[Hit]) -> None:
        super().__init__(
            f"The {hit.stage} was blocked by the gateway's content policy "
            f"({hit.check}: {hit.entity})."
        )
        self.hit = hit
        self.hits = hits


def tally(stage: str, findings: Iterable[Finding]) -> list[Hit]:
    counts = Counter((f.detector.check, f.detector.entity, f.detector.action) for f in findings)
    return [Hit(stage, check, entity, action, n) for (check, entity, action), n in counts.items()]


def merge(hits: Iterable[Hit]) -> list[Hit]:
    """One hit per (stage, check, entity, action), counts added up."""
    counts: Counter[tuple[str, str, str, str]] = Counter()
    for hit in hits:
        counts[(hit.stage, hit.check, hit.entity, hit.action)] += hit.count
    return [Hit(*key, count=n) for key, n in counts.items()]


def header_value(hits: Iterable[Hit]) -> str:
    """`request/pii.email=redact:2, response/secrets.openai_key=redact:1`."""
    return ", ".join(
        f"{hit.stage}/{hit.check}.{hit.entity}={hit.action}:{hit.count}" for hit in merge(hits)
    )


def blocking(hits: Iterable[Hit]) -> Hit | None:
    return next((hit for hit in hits if hit.action == "block"), None)
