"""What a deployment was seen to take: recent first bytes (streams), pace (plain answers).

The deadlines (`upstream.deadlines`) are drawn from these; the figures stay with the
deployment's health across config reloads.
"""

from __future__ import annotations

from collections import deque

_SAMPLES = 256
# Every attempt asks for a p95, and sorting 256 samples each time cost more than the rest
# of the deadline: once there are this many samples, it is recomputed only after as many
# new ones. A deadline a few answers behind is still the deployment's.
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
        return self._first_byte_ms.p95()

    def answer_p95_ms(self, max_tokens: int | None) -> float | None:
        pace = self._ms_per_token.p95()
        if pace is None:
            return None
        tokens = max_tokens if max_tokens else self._output_tokens.p95() or 1.0
        return pace * tokens


class _Recent:
    """The last `_SAMPLES` values and their p95, recomputed as `_REFRESH` says."""

    __slots__ = ("_added", "_p95", "_samples")

    def __init__(self) -> None:
        self._samples: deque[float] = deque(maxlen=_SAMPLES)
        self._p95: float | None = None
        self._added = 0

    def add(self, value: float) -> None:
        self._samples.append(value)
        self._added += 1

    def p95(self) -> float | None:
        if self._p95 is None or self._added >= _REFRESH or len(self._samples) < _REFRESH:
            if not self._samples:
                return None
            ordered = sorted(self._samples)
            self._p95 = float(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))])
            self._added = 0
        return self._p95
