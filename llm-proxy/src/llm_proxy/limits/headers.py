"""OpenAI's `x-ratelimit-*` response headers, from the counters a request was checked on."""

from __future__ import annotations

from llm_proxy.limits.counters import Charge, CounterState, Dimension
from llm_proxy.limits.periods import MINUTE_MS

_TOKEN_DIMENSIONS = (Dimension.TOKENS, Dimension.INPUT, Dimension.OUTPUT)


def rate_limit_headers(checked: list[tuple[Charge, CounterState]]) -> dict[str, str]:
    """The tightest per-minute request and token limits, as OpenAI reports its own."""
    headers: dict[str, str] = {}
    requests = _tightest(checked, (Dimension.REQUESTS,))
    if requests is not None:
        headers.update(_describe("requests", *requests))
    tokens = _tightest(checked, (Dimension.TOKENS,)) or _tightest(checked, _TOKEN_DIMENSIONS)
    if tokens is not None:
        headers.update(_describe("tokens", *tokens))
    return headers


def _tightest(
    checked: list[tuple[Charge, CounterState]], dimensions: tuple[Dimension, ...]
) -> tuple[Charge, CounterState] | None:
    candidates = [
        (charge, state)
        for charge, state in checked
        if charge.counter.dimension in dimensions and charge.counter.window_ms == MINUTE_MS
    ]
    if not candidates:
        return None
    return min(candidates, key=lambda pair: pair[0].counter.limit - pair[1].used)


def _describe(kind: str, charge: Charge, state: CounterState) -> dict[str, str]:
    limit = charge.counter.limit
    return {
        f"x-ratelimit-limit-{kind}": str(limit),
        f"x-ratelimit-remaining-{kind}": str(max(0, limit - state.used)),
        f"x-ratelimit-reset-{kind}": go_duration(state.reset_ms),
    }


def go_duration(ms: int) -> str:
    """A duration the way OpenAI writes it (Go's format): "20ms", "1s", "6m0s", "1h0m0s"."""
    ms = max(0, ms)
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds = f"{rest / 1000:.3f}".rstrip("0").rstrip(".")
    if hours:
        return f"{hours}h{minutes}m{seconds}s"
    if minutes:
        return f"{minutes}m{seconds}s"
    return f"{seconds}s"


def retry_after_s(wait_ms: int) -> int:
    """Whole seconds, rounded up, at least 1 (the `Retry-After` header has no fractions)."""
    return max(1, -(-wait_ms // 1000))
