"""Per-deployment health: a circuit breaker and the figures /v1/providers/health shows.

LiteLLM's cooldowns bench a deployment for a fixed time after failures; they have no
half-open state and no error-rate window. This adds both, and a cooldown honouring a
429's Retry-After, which the balancer respects before choosing a deployment.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from enum import StrEnum

from llm_proxy.config.models import CircuitBreaker

_HISTORY_S = 300.0
_LATENCY_SAMPLES = 512


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, slots=True)
class _Outcome:
    at: float
    ok: bool


class DeploymentHealth:
    def __init__(self, policy: CircuitBreaker) -> None:
        self.policy = policy
        self.state = CircuitState.CLOSED
        self.consecutive_failures = 0
        self.opened_at = 0.0
        self.cooldown_until = 0.0
        self.probe_in_flight = False
        self.last_success_at: float | None = None
        self.last_failure_at: float | None = None
        self.last_failure: str | None = None
        self.latency_ewma_ms: float | None = None
        self._outcomes: deque[_Outcome] = deque()
        self._latencies_ms: deque[float] = deque(maxlen=_LATENCY_SAMPLES)

    def available(self, now: float) -> bool:
        """Whether a request may go here now; a half-open circuit admits one probe."""
        if now < self.cooldown_until:
            return False
        if self.state is CircuitState.OPEN:
            if now - self.opened_at < self.policy.open_s:
                return False
            self.state = CircuitState.HALF_OPEN
            self.probe_in_flight = False
        if self.state is CircuitState.HALF_OPEN:
            return not self.probe_in_flight
        return True

    def started(self) -> None:
        if self.state is CircuitState.HALF_OPEN:
            self.probe_in_flight = True

    def succeeded(self, latency_ms: float, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._record(now, ok=True)
        self.consecutive_failures = 0
        self.last_success_at = time.time()
        self._latencies_ms.append(latency_ms)
        previous = self.latency_ewma_ms
        self.latency_ewma_ms = latency_ms if previous is None else 0.8 * previous + 0.2 * latency_ms
        if self.state is CircuitState.HALF_OPEN:
            self.state = CircuitState.CLOSED
            self.probe_in_flight = False

    def failed(self, reason: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._record(now, ok=False)
        self.consecutive_failures += 1
        self.last_failure_at = time.time()
        self.last_failure = reason
        if self.state is CircuitState.HALF_OPEN or self._should_open(now):
            self._open(now)

    def throttled(self, retry_after_s: float, now: float | None = None) -> None:
        """A 429: the provider asked for a pause; that is capacity, not ill health."""
        now = time.monotonic() if now is None else now
        self.cooldown_until = max(self.cooldown_until, now + retry_after_s)
        if self.state is CircuitState.HALF_OPEN:
            self.probe_in_flight = False

    def probe_succeeded(self, now: float | None = None) -> None:
        """An active probe got an answer: an open circuit may try a real request again."""
        if self.state is CircuitState.OPEN:
            self.state = CircuitState.HALF_OPEN
            self.probe_in_flight = False

    def released(self) -> None:
        """An attempt that ended with no verdict (client went away): free the probe slot."""
        self.probe_in_flight = False

    def error_rate(self, window_s: float, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        recent = [o for o in self._outcomes if now - o.at <= window_s]
        if not recent:
            return None
        return sum(1 for o in recent if not o.ok) / len(recent)

    def latency_percentile_ms(self, q: float) -> float | None:
        if not self._latencies_ms:
            return None
        ordered = sorted(self._latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def _should_open(self, now: float) -> bool:
        if self.consecutive_failures >= self.policy.consecutive_failures:
            return True
        window = [o for o in self._outcomes if now - o.at <= self.policy.window_s]
        if len(window) < self.policy.min_requests:
            return False
        failures = sum(1 for o in window if not o.ok)
        return failures / len(window) >= self.policy.error_rate

    def _open(self, now: float) -> None:
        self.state = CircuitState.OPEN
        self.opened_at = now
        self.probe_in_flight = False

    def _record(self, now: float, ok: bool) -> None:
        self._outcomes.append(_Outcome(now, ok))
        while self._outcomes and now - self._outcomes[0].at > _HISTORY_S:
            self._outcomes.popleft()
