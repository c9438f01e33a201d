"""What a request holds on the counters between reserve and settle."""

from __future__ import annotations

from dataclasses import dataclass, field

from llm_proxy.limits.counters import Adjustment, Charge, Dimension
from llm_proxy.limits.leases import Lease
from llm_proxy.usage import Usage


@dataclass(frozen=True, slots=True)
class Estimate:
    """A request's input and output tokens: estimated before dispatch (prompt counted, output
    capped or guessed), or as really used."""

    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


# Nothing estimated yet: one shared value (an Estimate is frozen), since a frozen
# dataclass costs each request more to make than the rest of its reservation.
_NONE_YET = Estimate()


@dataclass(slots=True)
class Reservation:
    estimate: Estimate = _NONE_YET
    # (charge, store time ms, the lease it is held under)
    held: list[tuple[Charge, int, Lease | None]] = field(default_factory=list)
    # Reserve calls admitted so far: each is a part of its own in the request's lease.
    parts: int = 0

    def lease(self, holder: str) -> Lease:
        """The lease the next reserve call is held under."""
        return Lease(holder, self.parts)

    def hold(self, charges: list[Charge], at_ms: int, lease: Lease | None = None) -> None:
        self.held += [(charge, at_ms, lease) for charge in charges]
        self.parts += 1

    def close(self, usage: Usage | None, nano_usd: int = 0) -> list[Adjustment]:
        """The real amounts, once: None releases everything (the request was not served)."""
        held, self.held = self.held, []
        return [
            Adjustment(charge, at_ms, _actual(charge, usage, nano_usd), lease)
            for charge, at_ms, lease in held
        ]


def amount_of(dimension: Dimension, tokens: Estimate, nano_usd: int = 0) -> int:
    """What one request counts on a counter of this dimension."""
    if dimension is Dimension.REQUESTS:
        return 1
    if dimension is Dimension.TOKENS:
        return tokens.total_tokens
    if dimension is Dimension.INPUT:
        return tokens.input_tokens
    if dimension is Dimension.OUTPUT:
        return tokens.output_tokens
    return nano_usd


def _actual(charge: Charge, usage: Usage | None, nano_usd: int) -> int:
    if usage is None:
        return 0
    used = Estimate(usage.prompt_tokens, usage.completion_tokens)
    return amount_of(charge.counter.dimension, used, nano_usd)
