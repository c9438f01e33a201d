"""A request's timing: the model's profile with the per-request override headers applied."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from llm_proxy.simulator.config import ModelProfile


@dataclass(frozen=True, slots=True)
class Timing:
    latency_ms: float | None  # non-streaming total; None = ttft + tokens at the rate
    ttft_ms: float
    token_interval_s: float  # pause between streamed tokens; 0 = as fast as possible
    output_tokens: int
    close_after_s: float = 0.0  # the stream's body ends this long after its last event

    def total_s(self, tokens: int) -> float:
        """How long a non-streaming answer of `tokens` tokens takes."""
        if self.latency_ms is not None:
            return self.latency_ms / 1000
        return self.ttft_ms / 1000 + max(tokens - 1, 0) * self.token_interval_s


def _number(headers: Mapping[str, str], name: str) -> float | None:
    value = headers.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"header {name} must be a number, got {value!r}") from None
    if number < 0:
        raise ValueError(f"header {name} must not be negative, got {value!r}")
    return number


def timing_for(profile: ModelProfile, headers: Mapping[str, str]) -> Timing:
    """Apply `x-sim-latency-ms`, `x-sim-ttft-ms` and `x-sim-tokens` over the profile."""
    latency = _number(headers, "x-sim-latency-ms")
    ttft = _number(headers, "x-sim-ttft-ms")
    tokens = _number(headers, "x-sim-tokens")
    rate = profile.tokens_per_second
    return Timing(
        latency_ms=profile.latency_ms if latency is None else latency,
        ttft_ms=profile.ttft_ms if ttft is None else ttft,
        token_interval_s=1 / rate if rate else 0.0,
        output_tokens=profile.output_tokens if tokens is None else max(1, int(tokens)),
        close_after_s=profile.close_after_ms / 1000,
    )
