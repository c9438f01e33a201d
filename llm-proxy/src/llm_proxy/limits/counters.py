"""What a limit is, and the one interface both counter stores offer: reserve, settle, read.

A counter is one limit on one dimension of one subject (a key's requests per minute, a
team's USD this month). Sliding windows are split into `BUCKETS` buckets, so a counter
costs bounded memory however busy it is; calendar periods are one total whose key
names the period. Amounts are integers: tokens, requests, or nano-USD.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from llm_proxy.limits.leases import Delivered, Lease

BUCKETS = 60


class Dimension(Enum):
    """What a counter counts, and so how a request's real usage settles it."""

    REQUESTS = "requests"
    TOKENS = "tokens"
    INPUT = "input_tokens"
    OUTPUT = "output_tokens"
    NANO_USD = "nano_usd"


class Enforce(Enum):
    # The request's amount must fit under the limit (rate limits, as OpenAI counts them).
    FIT = 1
    # Admitted while the limit is not yet reached; the last request may cross it (budgets).
    BELOW = 2
    # Counted, not enforced (a scope already downgraded past its budget).
    COUNT = 0


@dataclass(frozen=True, slots=True)
class Counter:
    key: str  # without the store's prefix
    dimension: Dimension
    limit: int
    # Sliding window length; 0 for a calendar period ending at `period_end_ms` (epoch ms).
    window_ms: int = 0
    period_end_ms: int = 0
    enforce: Enforce = Enforce.FIT
    alert_thresholds: tuple[float, ...] = ()
    # Whose counter it is, for messages, alerts and the usage API: "team:research",
    # "key:k_12", "model:gpt-4o" (a rule shared by every caller of that model).
    owner: str = ""

    @property
    def bucket_ms(self) -> int:
        return max(1, self.window_ms // BUCKETS)


@dataclass(frozen=True, slots=True)
class Charge:
    counter: Counter
    amount: int


@dataclass(frozen=True, slots=True)
class CounterState:
    used: int
    # Until the counter is back to zero if nothing more came, and until this request
    # would fit (-1: it never fits, being larger than the limit itself).
    reset_ms: int
    wait_ms: int = 0


@dataclass(frozen=True, slots=True)
class Verdict:
    admitted: bool
    at_ms: int  # the store's clock when it decided: settling finds the same buckets
    states: tuple[CounterState, ...]

    def refused(self, charges: list[Charge]) -> list[tuple[Charge, CounterState]]:
        return [(c, s) for c, s in zip(charges, self.states, strict=True) if s.wait_ms != 0]


@dataclass(frozen=True, slots=True)
class Adjustment:
    """Settling one held charge: the real amount replaces the reserved one."""

    charge: Charge
    at_ms: int
    actual: int
    # The lease it was reserved under: settling it ends that lease's part.
    lease: Lease | None = None


@dataclass(frozen=True, slots=True)
class Crossing:
    """A budget counter's settled total reached one of its alert thresholds."""

    counter: Counter
    threshold: float
    used: int


class CounterStore(Protocol):
    async def reserve(
        self, charges: list[Charge], lease: Lease | None = None, lease_ms: int = 0
    ) -> Verdict:
        """All or nothing: every charge is added, or none when one does not fit; admitted
        under `lease`, they are held for `lease_ms` unless renewed."""
        ...

    async def settle(self, adjustments: list[Adjustment]) -> list[Crossing]:
        """Apply real amounts; crossings are reported once per counter, threshold, period."""
        ...

    async def read(self, counters: list[Counter]) -> list[int]:
        """Current totals, for the usage API."""
        ...

    async def renew(self, holders: list[str], lease_ms: int) -> None:
        """The requests still in flight: their leases end `lease_ms` from now again."""
        ...

    async def sweep(self, most: int) -> int:
        """Give back the reservations of up to `most` ended leases; how many ended."""
        ...

    async def settle_delivered(self, answers: list[Delivered]) -> int:
        """Settle leases of a dead replica with what its answers used; how many there were."""
        ...

    async def close(self) -> None: ...


class StoreUnavailable(Exception):
    """The counter store did not answer in time; the fail mode decides what happens."""
