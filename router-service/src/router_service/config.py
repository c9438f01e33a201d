"""The service's YAML: which routers to load and the auto groups that use them.

An auto group is a ladder of models, weakest first. `{strong, weak, router, threshold |
target_strong_share}` is the two-rung case; `tiers` gives more rungs (mini → 4o → o-series),
each above the first with its own `threshold` or `target_strong_share` (the share of calls
that reach that rung or a higher one).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_CONFIG = Path(__file__).with_name("router-service.yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tier(_Strict):
    model: str
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    target_strong_share: float | None = Field(default=None, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _at_most_one_cut(self) -> Tier:
        if self.threshold is not None and self.target_strong_share is not None:
            raise ValueError(f"{self.model}: give threshold or target_strong_share, not both")
        return self


class AutoGroup(_Strict):
    router: str
    strong: str | None = None
    weak: str | None = None
    threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    target_strong_share: float | None = Field(default=None, ge=0.0, le=1.0)
    tiers: list[Tier] | None = None

    @model_validator(mode="after")
    def _pair_or_tiers(self) -> AutoGroup:
        if self.tiers is None:
            if not (self.strong and self.weak):
                raise ValueError("an auto group needs strong and weak, or tiers")
            self.tiers = [
                Tier(model=self.weak),
                Tier(
                    model=self.strong,
                    threshold=self.threshold,
                    target_strong_share=self.target_strong_share,
                ),
            ]
        if len(self.tiers) < 2:
            raise ValueError("an auto group needs at least two tiers")
        for tier in self.tiers[1:]:
            if tier.threshold is None and tier.target_strong_share is None:
                raise ValueError(f"tier {tier.model}: threshold or target_strong_share needed")
        return self

    @property
    def ladder(self) -> list[Tier]:
        assert self.tiers is not None  # set by the validator
        return self.tiers


class Price(_Strict):
    """Dollars per million tokens."""

    input: float = Field(ge=0.0)
    output: float = Field(ge=0.0)

    @property
    def blended(self) -> float:
        """The price of a typical call's token: three input tokens to one output token."""
        return 0.75 * self.input + 0.25 * self.output


class ServiceConfig(_Strict):
    # name -> keyword arguments of the RouteLLM router class registered under that name
    routers: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"minilm": dict[str, Any]()})
    auto_groups: dict[str, AutoGroup]
    # How many recent scores per router the recalibration call looks at.
    history_size: int = Field(default=10_000, ge=10)
    prices: dict[str, Price] = Field(default_factory=dict)
    # torch threads per forward pass. One: under contention (2 cores shared with the gateway)
    # OpenMP's spinning barriers made a pass ten times slower with two; concurrent requests
    # still use both cores from the server's thread pool.
    torch_threads: int = Field(default=1, ge=1)
    # Larger request bodies are refused with 413 before they are parsed.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # Where `train --from-gateway` writes checkpoints and promotion picks them (by file name
    # only) and records the live one (`live.json`); shared by the replicas. None: our router
    # serves the shipped checkpoint and POST /admin/router/promote answers 409.
    checkpoints_dir: Path | None = None

    @model_validator(mode="after")
    def _groups_use_known_routers(self) -> ServiceConfig:
        for name, group in self.auto_groups.items():
            if group.router not in self.routers:
                raise ValueError(f"auto group {name}: router {group.router} is not configured")
        return self


def load_config(path: Path = DEFAULT_CONFIG) -> ServiceConfig:
    with path.open(encoding="utf-8") as handle:
        return ServiceConfig.model_validate(yaml.safe_load(handle))
