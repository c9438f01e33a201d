"""What a deployment was seen to take: recent first bytes (streams), pace (plain answers).

The deadlines (`upstream.deadlines`) are drawn from these; the figures stay with the
deployment's health across config reloads.
"""

from __future__ import annotations

from collections import deque

_SAMPLES = 256


class ObservedLatency:
    """A deployment's recent first bytes (streams) and pace (plain answers)."""

    def __init__(self) -> None:
        self._first_byte_ms: deque[float] = deque(maxlen=_SAMPLES)
        self._ms_per_token: deque[float] = deque(maxlen=_SAMPLES)
        self._output_tokens: deque[int] = deque(maxlen=_SAMPLES)

    def streamed(self, first_byte_ms: float) -> None:
        self._first_byte_ms.append(first_byte_ms)

    def answered(self, latency_ms: float, output_tokens: int) -> None:
        tokens = max(1, output_tokens)
        self._ms_per_token.append(latency_ms / tokens)
        self._output_tokens.append(tokens)

    def first_byte_p95_ms(self) -> float | None:
        return _p95(self._first_byte_ms)

    def answer_p95_ms(self, max_tokens: int | None) -> float | None:
        pace = _p95(self._ms_per_token)
        if pace is None:
            return None
        tokens = max_tokens if max_tokens else _p95(self._output_tokens) or 1.0
        return pace * tokens


def _p95(samples: deque[float] | deque[int]) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])
