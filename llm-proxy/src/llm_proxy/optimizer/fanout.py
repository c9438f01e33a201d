"""What an optimizer run is and what its sub-calls used: plain values, importing nothing."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class FanOut:
    """The sub-calls of one request, summed from their own spend records."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(slots=True)
class OptimizerRun:
    """A parent request's run: the approaches asked for, and once it ends, what it used."""

    approaches: tuple[str, ...]
    model: str  # the model every sub-call asks for
    expected_calls: int = 1
    # Why one plain call answered instead ("deadline", "unavailable"), as the header says.
    fallback: str | None = None
    # The sub-calls' sums; None while running, and when the gateway itself answered.
    fanout: FanOut | None = None
    # What the optimizer said it did (x-gateway-optimizer): stopped by a cap, its fallback.
    detail: str | None = None
    streaming: bool = field(default=False)

    @property
    def label(self) -> str:
        return "&".join(self.approaches)

    def header(self) -> str:
        """`x-gateway-optimizer`: `moa; calls=3; tokens=812`, with a fallback when one ran."""
        parts = [self.label]
        detail = self.detail or ""
        for part in detail.split("; ")[1:]:
            if part.startswith(("fallback=", "stopped=")):
                parts.append(part)
        if self.fallback is not None:
            parts.append(f"fallback={self.fallback}")
        if self.fanout is not None:
            parts += [f"calls={self.fanout.calls}", f"tokens={self.fanout.total_tokens}"]
        elif self.streaming:
            parts.append("stream")
        return "; ".join(parts)
