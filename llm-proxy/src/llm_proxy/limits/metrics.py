"""Counts of what the limits did, for the metrics endpoint and the logs to read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llm_proxy.limits.counters import Crossing


@dataclass(slots=True)
class LimitsMetrics:
    reservations: int = 0
    rate_limited: int = 0  # 429 for a rate limit
    budget_exceeded: int = 0  # 429 for a budget
    queued: int = 0  # waited for room instead of a 429
    downgraded: int = 0  # answered by a cheaper model instead of a 429
    fail_open: int = 0  # let through unchecked: the counter store was down
    fail_closed: int = 0  # refused: the counter store was down
    store_errors: int = 0
    settles_lost: int = 0  # real usage that could not be written (store down)
    alerts: int = 0
    leases_ended: int = 0  # reservations of dead replicas given back by the sweep
    leases_settled: int = 0  # ... settled from their spend write-ahead file instead
    # Called with every budget threshold crossed (the Prometheus exporter hooks in here).
    on_alert: list[Callable[[Crossing], None]] = field(default_factory=list)
