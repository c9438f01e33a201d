"""The simulator's configuration: one profile per model, loaded from YAML.

```yaml
name: sim-east            # x-sim-instance of every response (--name overrides)
record_limit: 1000        # requests kept for GET /_sim/requests
seed: 42                  # optional: replayable fault dice
default:                  # unknown models; also the base every model profile starts from
  latency_ms: 0
models:
  gpt-4o-mini: {ttft_ms: 200, tokens_per_second: 80, output_tokens: 64}
  flaky: {error_5xx_rate: 0.1, rate_429_rate: 0.05, retry_after_s: 2, cut_stream_rate: 0.02}
  noisy-solver: {answers: noisy-solver, accuracy: 0.6}
  strong: {quality: 8}      # answers end with the mark [q8]
  judge: {answers: judge}   # compares two marked answers: [[A]], [[B]] or [[C]]
  moderation: {answers: moderation, flag_words: {violence: [attack plan]}}
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator


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
    token_chars: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Stream a text answer in pieces of this many characters, cut anywhere "
        "(as a tokenizer splits numbers, addresses and long words), not a word a token.",
    )
    close_after_ms: float = Field(
        default=0,
        ge=0,
        description="How long a stream's body stays open after its last event ([DONE], "
        "message_stop, ...) before it ends, as behind a proxy that closes late.",
    )
    embedding_dimensions: int = Field(default=1536, ge=1)
    answers: Literal["echo", "noisy-solver", "judge", "moderation"] = Field(
        default="echo",
        description="echo: quote the prompt; noisy-solver: answer the arithmetic word problem "
        "the prompt quotes (word_problems.py) with a number, right with probability `accuracy`; "
        "judge: compare the two answers the prompt quotes by their quality marks (judge.py); "
        "moderation: a classifier's JSON verdict on the prompt (moderation.py, `flag_words`).",
    )
    accuracy: float = Field(default=0.6, ge=0, le=1)
    quality: int | None = Field(
        default=None,
        ge=0,
        le=9,
        description="Mark each text answer with this quality (its last token), for a judge.",
    )
    position_bias: Literal["none", "first", "second"] = Field(
        default="none",
        description="A judge that always prefers the answer in this position, whatever the marks.",
    )
    flag_words: dict[str, list[str]] = Field(
        default_factory=dict,
        description="moderation: category -> the words or phrases that flag a prompt for it.",
    )

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

    @model_validator(mode="before")
    @classmethod
    def _inherit_default(cls, data: Any) -> Any:
        """A model given as a mapping states what differs from `default` and inherits the rest."""
        if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
            return data
        base = data.get("default") or {}
        if isinstance(base, ModelProfile):
            base = base.model_dump(exclude_unset=True)
        if not isinstance(base, dict):
            return data
        models = {
            name: {**base, **profile} if isinstance(profile, dict) else profile
            for name, profile in data["models"].items()
        }
        return {**data, "models": models}

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
