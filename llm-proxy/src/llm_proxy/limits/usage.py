"""Live usage of counters, for the control API: what is used now against each limit."""

from __future__ import annotations

from typing import Any

from llm_proxy.cost import NANO_PER_USD
from llm_proxy.limits.counters import Counter, Dimension
from llm_proxy.limits.enforcer import Enforcer
from llm_proxy.limits.periods import DAY_MS, MINUTE_MS

_WINDOWS = {MINUTE_MS: "1m", DAY_MS: "1d"}


async def usage_rows(enforcer: Enforcer, counters: list[Counter]) -> list[dict[str, Any]]:
    """One row per counter; raises StoreUnavailable when the store cannot be read."""
    totals = await enforcer.read(counters)
    return [_row(counter, used) for counter, used in zip(counters, totals, strict=True)]


def _row(counter: Counter, used: int) -> dict[str, Any]:
    usd = counter.dimension is Dimension.NANO_USD
    scale = NANO_PER_USD if usd else 1
    window = _WINDOWS.get(counter.window_ms) or counter.key.rsplit(":", 1)[-1]
    return {
        "counter": counter.key,
        "owner": counter.owner,
        "unit": "usd" if usd else counter.dimension.value,
        "window": window,
        "used": used / scale if usd else used,
        "limit": counter.limit / scale if usd else counter.limit,
        "remaining": max(0, counter.limit - used) / scale if usd else max(0, counter.limit - used),
    }
