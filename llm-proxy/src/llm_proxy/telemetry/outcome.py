"""`Outcome`: a finished request's figures, worked out once for metrics, the log line and
the trace. A value type (a tuple: one is made per request, and a frozen dataclass cost
twice as much to make); it imports nothing else of the package."""

from __future__ import annotations

from typing import NamedTuple


class Outcome(NamedTuple):
    latency_s: float
    # The gateway's own time: until the first byte for streams (the rest is the provider
    # streaming), until the answer otherwise; upstream time excluded either way.
    overhead_s: float
    # What settle charged (`cost.cost_usd`), the same figure the spend log records.
    cost_usd: float
