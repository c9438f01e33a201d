"""Per-deployment health: a circuit breaker and the figures /v1/providers/health shows.

LiteLLM's cooldowns bench a deployment for a fixed time after failures; they have no
half-open state and no error-rate window. This adds both, and a cooldown honouring a
429's Retry-After, which the balancer respects before choosing a deployment.

The circuit is shared by every tenant, so one caller must not be able to open it: a
request that breaks the upstream on purpose fails for everyone else too. Failures are
counted per caller (a virtual key, or the master key) as well: a caller whose own
failures reach the threshold is benched from the deployment for `open_s`, alone; the
shared circuit opens only when the failures behind it come from at least `min_callers`
callers. Failures the gateway sees itself (health probes, caller None) always count.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from enum import StrEnum

from llm_proxy.config.models import CircuitBreaker
from llm_proxy.upstream.latency import ObservedLatency

_HISTORY_S = 300.0
_LATENCY_SAMPLES = 512
# Callers with failures on record, per deployment; past it the longest-quiet are forgotten.
_CALLERS_KEPT = 10_000
# Enough to tell "several callers" for any sane min_callers.
_STREAK_CALLERS_KEPT = 64


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


# One attempt's verdict: (when, ok, caller). A plain tuple of plain values, one made per
# answered request and kept for `_HISTORY_S`: the collector stops tracking such tuples,
# so the hundreds of thousands a busy deployment holds cost its collections nothing
# (a dataclass, or a NamedTuple, stays tracked and is walked by every full collection).
_Outcome = tuple[float, bool, str | None]


@dataclass(slots=True)
class _CallerRecord:
    """One caller's run of failures on this deployment, and its bench if they opened one."""

    consecutive_failures: int = 0
    benched_until: float = 0.0


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
        self.observed = ObservedLatency()
        # Active probes failed in a row, and attempts past their deadline (hedged or
        # given up on), for /v1/providers/health.
        self.probe_failures = 0
        self.deadlines_missed = 0
        self._outcomes: deque[_Outcome] = deque()
        self._latencies_ms: deque[float] = deque(maxlen=_LATENCY_SAMPLES)
        self._callers: OrderedDict[str, _CallerRecord] = OrderedDict()
        # The callers behind the current run of consecutive failures.
        self._streak_callers: set[str | None] = set()

    def available(self, now: float, caller: str | None = None) -> bool:
        """Whether a request (of `caller`) may go here now; half-open admits one probe."""
        if now < self.cooldown_until or self._benched(caller, now):
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

    def succeeded(
        self, latency_ms: float, now: float | None = None, caller: str | None = None
    ) -> None:
        now = time.monotonic() if now is None else now
        self._record(now, ok=True, caller=caller)
        self.consecutive_failures = 0
        self._streak_callers.clear()
        if caller is not None:
            self._callers.pop(caller, None)
        self.last_success_at = time.time()
        self._latencies_ms.append(latency_ms)
        previous = self.latency_ewma_ms
        self.latency_ewma_ms = latency_ms if previous is None else 0.8 * previous + 0.2 * latency_ms
        if self.state is CircuitState.HALF_OPEN:
            self.state = CircuitState.CLOSED
            self.probe_in_flight = False

    def failed(self, reason: str, now: float | None = None, caller: str | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._record(now, ok=False, caller=caller)
        self.consecutive_failures += 1
        if len(self._streak_callers) < _STREAK_CALLERS_KEPT:
            self._streak_callers.add(caller)
        self.last_failure_at = time.time()
        self.last_failure = reason
        self._count_for(caller, now)
        if self.state is CircuitState.HALF_OPEN or self._should_open(now):
            self._open(now)

    def throttled(self, retry_after_s: float, now: float | None = None) -> None:
        """A 429: the provider asked for a pause; that is capacity, not ill health."""
        now = time.monotonic() if now is None else now
        self.cooldown_until = max(self.cooldown_until, now + retry_after_s)
        if self.state is CircuitState.HALF_OPEN:
            self.probe_in_flight = False

    def probe_failed(self, reason: str, unhealthy_after: int, now: float | None = None) -> None:
        """An active probe got no answer: `unhealthy_after` in a row open the circuit.

        The gateway's own probe is no caller's doing, so it counts for everyone; it opens
        the circuit sooner than request failures do (Envoy's unhealthy_threshold), since a
        hung deployment fails no request before its deadline."""
        now = time.monotonic() if now is None else now
        self.probe_failures += 1
        self.failed(reason, now)
        if self.probe_failures >= unhealthy_after and self.state is not CircuitState.OPEN:
            self._open(now)

    def missed_deadline(self, reason: str, caller: str | None = None) -> None:
        """An attempt sent nothing by its deadline: a stall counts as a failure."""
        self.deadlines_missed += 1
        self.failed(reason, caller=caller)

    def probe_succeeded(self, now: float | None = None) -> None:
        """An active probe got an answer: an open circuit may try a real request again."""
        self.probe_failures = 0
        if self.state is CircuitState.OPEN:
            self.state = CircuitState.HALF_OPEN
            self.probe_in_flight = False
            # The benches of the outage that opened the circuit end with it: the callers
            # behind it may try again (one caller's own failures do not open the circuit,
            # so its bench stays while the circuit stays closed).
            self._callers.clear()

    def released(self) -> None:
        """An attempt that ended with no verdict (client went away): free the probe slot."""
        self.probe_in_flight = False

    def error_rate(self, window_s: float, now: float | None = None) -> float | None:
        now = time.monotonic() if now is None else now
        recent = [ok for at, ok, _ in self._outcomes if now - at <= window_s]
        if not recent:
            return None
        return recent.count(False) / len(recent)

    def latency_percentile_ms(self, q: float) -> float | None:
        if not self._latencies_ms:
            return None
        ordered = sorted(self._latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def _should_open(self, now: float) -> bool:
        policy = self.policy
        if self.consecutive_failures >= policy.consecutive_failures and self._several(
            self._streak_callers
        ):
            return True
        window = [o for o in self._outcomes if now - o[0] <= policy.window_s]
        if len(window) < policy.min_requests:
            return False
        failing = [caller for _, ok, caller in window if not ok]
        return len(failing) / len(window) >= policy.error_rate and self._several(set(failing))

    def _several(self, callers: set[str | None]) -> bool:
        """Failures from enough callers to be the deployment's, not one caller's doing."""
        return None in callers or len(callers) >= self.policy.min_callers

    def _count_for(self, caller: str | None, now: float) -> None:
        if caller is None:
            return
        record = self._callers.pop(caller, None) or _CallerRecord()
        self._callers[caller] = record  # most recently failing last
        if record.benched_until and now >= record.benched_until:
            record.consecutive_failures, record.benched_until = 0, 0.0
        record.consecutive_failures += 1
        if record.consecutive_failures >= self.policy.consecutive_failures:
            record.benched_until = now + self.policy.open_s
        while len(self._callers) > _CALLERS_KEPT:
            self._callers.popitem(last=False)

    def _benched(self, caller: str | None, now: float) -> bool:
        record = self._callers.get(caller) if caller is not None else None
        return record is not None and now < record.benched_until

    def _open(self, now: float) -> None:
        self.state = CircuitState.OPEN
        self.opened_at = now
        self.probe_in_flight = False

    def _record(self, now: float, ok: bool, caller: str | None) -> None:
        self._outcomes.append((now, ok, caller))
        while self._outcomes and now - self._outcomes[0][0] > _HISTORY_S:
            self._outcomes.popleft()
