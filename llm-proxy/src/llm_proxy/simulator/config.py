"""The simulator's configuration: one profile per model, loaded from YAML."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field


class ModelProfile(BaseModel):
    """How one model behaves: its timing and how often it fails."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: float | None = Field(
        default=None,
        ge=0,
        description="Total time of a non-streaming answer; when unset, ttft + tokens at the rate.",
    )
    ttft_ms: float = Field(default=0, ge=0, description="Time to the first streamed token.")
    tokens_per_second: float | None = Field(
        default=None, gt=0, description="Streaming rate after the first token; unset = instant."
    )
    output_tokens: int = Field(default=16, ge=1, description="Completion tokens when not capped.")
    embedding_dimensions: int = Field(default=1536, ge=1)

    error_5xx_rate: float = Field(default=0, ge=0, le=1)
    rate_429_rate: float = Field(default=0, ge=0, le=1)
    retry_after_s: float = Field(default=1, ge=0)
    timeout_rate: float = Field(default=0, ge=0, le=1)
    timeout_s: float = Field(default=60, ge=0)
    cut_stream_rate: float = Field(default=0, ge=0, le=1)
    malformed_rate: float = Field(default=0, ge=0, le=1)


class SimulatorConfig(BaseModel):
    """A whole simulator instance: its name, default profile and per-model profiles."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "sim"
    default: ModelProfile = ModelProfile()
    models: dict[str, ModelProfile] = Field(default_factory=dict)
    record_limit: int = Field(
        default=1000, ge=0, description="How many received requests GET /_sim/requests keeps."
    )
    seed: int | None = Field(
        default=None, description="Seed of the fault dice, for replayable runs."
    )

    def profile(self, model: str | None) -> ModelProfile:
        """The profile of `model`, or the default one for models not configured."""
        if model is None:
            return self.default
        return self.models.get(model, self.default)


def load_config(path: Path | str | None, name: str | None = None) -> SimulatorConfig:
    """Read a YAML file (or nothing) into a config; `name` overrides the file's name."""
    raw: dict[str, object] = {}
    if path is not None:
        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if loaded is not None:
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: expected a mapping at the top level")
            raw = loaded
    if name is not None:
        raw["name"] = name
    return SimulatorConfig.model_validate(raw)
