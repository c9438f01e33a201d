"""gateway.yaml's `policies:` section: where a team's requests may be served, in which
priority class they queue when capacity runs short, and how teams share a scarce quota.

```yaml
policies:
  residency:                  # named policies; a team's and a key's both apply (intersection)
    eu-only: {regions: [eu], teams: [team_…], keys: []}
  priority:
    enabled: true
    default: normal           # a request that names no class, and whose key gives none
    queue_s: {high: 10, normal: 2, low: 0}   # how long each class may wait for capacity
    reserved_share: 0.2       # of a deployment's max_rpm/max_tpm, usable by `high` alone
    keys: {key_…: {default: low, cap: normal}}
    teams: {team_…: {default: high}}
  fair_share:
    enabled: true             # share a saturated deployment's tokens between teams by weight
    weights: {team_…: 2}      # teams not named weigh `default_weight`
```

A request narrows its own regions (`metadata.region` or `x-gateway-region`) only within what
its policy permits; it never widens them. Part of the managed config: versioned with the rest.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from llm_proxy.config.base import Strict

PriorityClass = Literal["high", "normal", "low"]
# Most urgent first: the order queues are served in.
PRIORITY_CLASSES: tuple[PriorityClass, ...] = ("high", "normal", "low")

RegionName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]


class ResidencyPolicy(Strict):
    """The regions the named teams' and keys' requests may be served in."""

    regions: Annotated[list[RegionName], Field(min_length=1)]
    teams: list[str] = []
    keys: list[str] = []


class ClassRule(Strict):
    """A key's or team's class when a request names none, and the highest it may ask for."""

    default: PriorityClass | None = None
    cap: PriorityClass | None = None


def _queue_times() -> dict[PriorityClass, float]:
    return {"high": 10.0, "normal": 2.0, "low": 0.0}


class Priority(Strict):
    # Off: requests are not classed and a saturated group answers as without policies.
    enabled: bool = False
    default: PriorityClass = "normal"
    # Seconds a request of each class may wait for a saturated deployment; then it is shed.
    queue_s: dict[PriorityClass, Annotated[float, Field(ge=0, le=600)]] = Field(
        default_factory=_queue_times
    )
    # Of each deployment's max_rpm/max_tpm, the share only `high` may use.
    reserved_share: Annotated[float, Field(ge=0, lt=1)] = 0.2
    keys: dict[str, ClassRule] = {}
    teams: dict[str, ClassRule] = {}

    def queue_time(self, cls: PriorityClass) -> float:
        return self.queue_s.get(cls, _queue_times()[cls])


class FairShare(Strict):
    enabled: bool = False
    weights: dict[str, Annotated[float, Field(gt=0)]] = {}
    default_weight: Annotated[float, Field(gt=0)] = 1.0


class Policies(Strict):
    residency: dict[Annotated[str, Field(min_length=1, max_length=64)], ResidencyPolicy] = {}
    priority: Priority = Priority()
    fair_share: FairShare = FairShare()

    @model_validator(mode="after")
    def _one_policy_per_holder(self) -> Policies:
        for kind in ("teams", "keys"):
            seen: dict[str, str] = {}
            for name, policy in self.residency.items():
                for holder in getattr(policy, kind):
                    if holder in seen:
                        raise ValueError(
                            f"residency: {kind[:-1]} {holder!r} is in both {seen[holder]!r} "
                            f"and {name!r}; give it one policy"
                        )
                    seen[holder] = name
        return self
