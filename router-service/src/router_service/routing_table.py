"""The auto groups with their thresholds resolved: score in, model out.

Thresholds given as `target_strong_share` are resolved from a score distribution: the one
shipped with the group's router at start, the group's own recent traffic after recalibration.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from router_service.calibration import threshold_for_share
from router_service.config import AutoGroup


@dataclass(frozen=True)
class Rung:
    model: str
    # Calls whose score >= threshold reach this rung (or a higher one); None on the first rung.
    threshold: float | None
    target_strong_share: float | None


@dataclass(frozen=True)
class Decision:
    model: str
    threshold: float


@dataclass(frozen=True)
class ResolvedGroup:
    name: str
    router: str
    rungs: tuple[Rung, ...]

    def decide(self, score: float) -> Decision:
        """The highest rung whose threshold the score reaches, with the threshold that decided:
        the one reached, or on the first rung the lowest one missed."""
        chosen = 0
        for index in range(1, len(self.rungs)):
            if score >= self._threshold(index):
                chosen = index
        deciding = max(chosen, 1)
        return Decision(model=self.rungs[chosen].model, threshold=self._threshold(deciding))

    def _threshold(self, index: int) -> float:
        threshold = self.rungs[index].threshold
        assert threshold is not None  # every rung above the first has one once resolved
        return threshold


def resolve_group(name: str, group: AutoGroup, score_quantiles: np.ndarray | None) -> ResolvedGroup:
    rungs = [Rung(group.ladder[0].model, None, None)]
    floor = 0.0
    for tier in group.ladder[1:]:
        if tier.threshold is not None:
            threshold = tier.threshold
        elif score_quantiles is None:
            raise ValueError(f"auto group {name}: no score distribution for {group.router}")
        else:
            assert tier.target_strong_share is not None
            threshold = threshold_for_share(score_quantiles, tier.target_strong_share)
        # Higher rungs must not be easier to reach than lower ones.
        floor = max(floor, threshold)
        rungs.append(Rung(tier.model, floor, tier.target_strong_share))
    return ResolvedGroup(name=name, router=group.router, rungs=tuple(rungs))


class RoutingTable:
    def __init__(
        self, groups: Mapping[str, AutoGroup], distributions: Mapping[str, np.ndarray]
    ) -> None:
        """`distributions`: score quantiles per router, used until a group has its own."""
        self._config = dict(groups)
        self._resolved: dict[str, ResolvedGroup] = {}
        self.pending: dict[str, str] = {}
        for name, group in self._config.items():
            try:
                self._resolved[name] = resolve_group(name, group, distributions.get(group.router))
            except ValueError as error:
                # A share on a router without a known distribution waits for recalibration.
                self.pending[name] = str(error)

    def get(self, name: str) -> ResolvedGroup | None:
        return self._resolved.get(name)

    def names(self) -> list[str]:
        return sorted(self._config)

    def configured(self, name: str) -> AutoGroup | None:
        return self._config.get(name)

    def redistribute(self, router: str, score_quantiles: np.ndarray) -> None:
        """Resolve every group of `router` again against its new checkpoint's distribution
        (thresholds recalibrated from traffic were the old checkpoint's scores)."""
        resolved = dict(self._resolved)
        for name, group in self._config.items():
            if group.router == router:
                resolved[name] = resolve_group(name, group, score_quantiles)
                self.pending.pop(name, None)
        self._resolved = resolved

    def recalibrate(self, name: str, score_quantiles: np.ndarray) -> ResolvedGroup:
        """Resolve group `name` again against the score distribution of its own traffic."""
        group = resolve_group(name, self._config[name], score_quantiles)
        # One dictionary swap: a request being routed sees the old table or the new one.
        self._resolved = {**self._resolved, name: group}
        self.pending.pop(name, None)
        return group
