"""What a deployment was seen to take: recent first bytes (streams), pace (plain answers).

The deadlines (`upstream.deadlines`) are drawn from their p95, and hedging at a latency
percentile (`upstream.hedging`) from the percentile it is configured with; the figures stay
with the deployment's health across config reloads.
"""

from __future__ import annotations

from collections import deque

_SAMPLES = 256
# Every attempt asks for a p95, and sorting 256 samples each time cost more than the rest
# of the deadline: once there are this many samples, they are sorted again only after as
# many new ones. A deadline a few answers behind is still the deployment's.
_REFRESH = 16


class ObservedLatency:
    """A deployment's recent first bytes (streams) and pace (plain answers)."""

    def __init__(self) -> None:
        self._first_byte_ms = _Recent()
        self._ms_per_token = _Recent()
        self._output_tokens = _Recent()

    def streamed(self, first_byte_ms: float) -> None:
        self._first_byte_ms.add(first_byte_ms)

    def answered(self, latency_ms: float, output_tokens: int) -> None:
        tokens = max(1, output_tokens)
        self._ms_per_token.add(latency_ms / tokens)
        self._output_tokens.add(tokens)

    def first_byte_p95_ms(self) -> float | None:
        return self.first_byte_ms(95)

    def answer_p95_ms(self, max_tokens: int | None) -> float | None:
        return self.answer_ms(95, max_tokens)

    def first_byte_ms(self, percentile: float) -> float | None:
        return self._first_byte_ms.at(percentile)

    def answer_ms(self, percentile: float, max_tokens: int | None) -> float | None:
        """The percentile's pace times the tokens this answer may take (its max_tokens,
        else that percentile of the answers seen)."""
        pace = self._ms_per_token.at(percentile)
        if pace is None:
            return None
        tokens = max_tokens if max_tokens else self._output_tokens.at(percentile) or 1.0
        return pace * tokens

    def samples(self, stream: bool) -> int:
        """How many answers the figures for streams (first bytes) or plain answers hold."""
        return len(self._first_byte_ms if stream else self._ms_per_token)


class _Recent:
    """The last `_SAMPLES` values and their percentiles, sorted again as `_REFRESH` says."""

    __slots__ = ("_added", "_ordered", "_samples")

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=_SAMPLES)
        self._ordered: list[float] = []
        self._added = 0

    def __len__(self) -> int:
        return len(self._samples)

    def add(self, value: float) -> None:
        self._samples.append(value)
        self._added += 1

    def at(self, percentile: float) -> float | None:
        if not self._samples:
            return None
        if not self._ordered or self._added >= _REFRESH or len(self._samples) < _REFRESH:
            self._ordered = sorted(self._samples)
            self._added = 0
        ordered = self._ordered
        return float(ordered[min(len(ordered) - 1, int(percentile / 100 * len(ordered)))])
