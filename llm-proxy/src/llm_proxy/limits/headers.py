"""OpenAI's `x-ratelimit-*` response headers, from the counters a request was checked on."""

from __future__ import annotations

from llm_proxy.limits.counters import Charge, CounterState, Dimension
from llm_proxy.limits.periods import MINUTE_MS

_Tightest = tuple[int, Charge, CounterState]


def rate_limit_headers(checked: list[tuple[Charge, CounterState]]) -> dict[str, str]:
    """The tightest per-minute request and token limits, as OpenAI reports its own: the
    least room left among the request counters, and among the token counters (those of
    input or output tokens when no counter counts both)."""
    requests: _Tightest | None = None
    tokens: _Tightest | None = None
    in_or_out: _Tightest | None = None
    for charge, state in checked:
        counter = charge.counter
        if counter.window_ms != MINUTE_MS:
            continue
        left = counter.limit - state.used
        if counter.dimension is Dimension.REQUESTS:
            requests = _tighter(requests, left, charge, state)
        elif counter.dimension is Dimension.TOKENS:
            tokens = _tighter(tokens, left, charge, state)
        elif counter.dimension is not Dimension.NANO_USD:
            in_or_out = _tighter(in_or_out, left, charge, state)
    headers: dict[str, str] = {}
    if requests is not None:
        headers.update(_describe("requests", requests[1], requests[2]))
    tokens = tokens or in_or_out
    if tokens is not None:
        headers.update(_describe("tokens", tokens[1], tokens[2]))
    return headers


def _tighter(known: _Tightest | None, left: int, charge: Charge, state: CounterState) -> _Tightest:
    """The first of the counters with the least room left."""
    return (left, charge, state) if known is None or left < known[0] else known


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
