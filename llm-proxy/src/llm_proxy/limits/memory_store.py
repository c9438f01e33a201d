"""Counters in process, for the embedded default (no Redis): the same windows and answers.

The event loop runs one coroutine at a time and none of these methods awaits, so each
call is as atomic here as a Lua script is in Redis. Leases are not kept: a reservation
here dies with its process, the only holder it can have.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from llm_proxy.limits.counters import (
    BUCKETS,
    Adjustment,
    Charge,
    Counter,
    CounterState,
    Crossing,
    Enforce,
    Verdict,
)
from llm_proxy.limits.leases import Delivered, Lease

# Settles of a period's last requests still land after it ends.
_PERIOD_GRACE_MS = 3_600_000
_SWEEP_MS = 60_000


@dataclass(slots=True)
class _Window:
    """A sliding window: amounts per bucket number, and their total."""

    buckets: dict[int, int] = field(default_factory=dict)
    total: int = 0

    def trim(self, current: int) -> None:
        oldest = current - BUCKETS + 1
        for bucket in [b for b in self.buckets if b < oldest]:
            self.total -= self.buckets.pop(bucket)

    def wait_ms(self, need: int, bucket_ms: int, now: int) -> int:
        freed = 0
        for bucket in sorted(self.buckets):
            freed += self.buckets[bucket]
            if freed >= need:
                return max(1, (bucket + BUCKETS) * bucket_ms - now)
        return -1


@dataclass(slots=True)
class _Period:
    total: int = 0
    settled: int = 0
    expires_ms: int = 0
    alerted: set[float] = field(default_factory=set)


class MemoryStore:
    def __init__(self) -> None:
        self._windows: dict[str, _Window] = {}
        self._periods: dict[str, _Period] = {}
        # Redis expires idle counters by itself; here a sweep once a minute drops them.
        self._windows_ms: dict[str, int] = {}
        self._next_sweep_ms = 0

    async def reserve(
        self, charges: list[Charge], lease: Lease | None = None, lease_ms: int = 0
    ) -> Verdict:
        now = _now_ms()
        if now >= self._next_sweep_ms:
            self._sweep(now)
        states = [self._check(c.counter, c.amount, now) for c in charges]
        admitted = all(s.wait_ms == 0 for s in states)
        if admitted:
            for charge in charges:
                self._add(charge.counter, charge.amount, now)
            states = [
                CounterState(s.used + c.amount, _reset_after_add(c.counter, s, now), 0)
                for c, s in zip(charges, states, strict=True)
            ]
        return Verdict(admitted, now, tuple(states))

    async def settle(self, adjustments: list[Adjustment]) -> list[Crossing]:
        now = _now_ms()
        crossings: list[Crossing] = []
        for adjustment in adjustments:
            counter = adjustment.charge.counter
            delta = adjustment.actual - adjustment.charge.amount
            if counter.window_ms:
                self._settle_window(counter, adjustment.at_ms, delta, now)
            else:
                crossings += self._settle_period(counter, delta, adjustment.actual, now)
        return crossings

    async def read(self, counters: list[Counter]) -> list[int]:
        now = _now_ms()
        totals = []
        for counter in counters:
            if counter.window_ms:
                window = self._window(counter, now)
                totals.append(window.total if window else 0)
            else:
                period = self._period(counter, now)
                totals.append(period.total if period else 0)
        return totals

    async def renew(self, holders: list[str], lease_ms: int) -> None:
        return None

    async def sweep(self, most: int) -> int:
        return 0

    async def settle_delivered(self, answers: list[Delivered]) -> int:
        return 0

    async def close(self) -> None:
        self._windows.clear()
        self._windows_ms.clear()
        self._periods.clear()

    def _check(self, counter: Counter, amount: int, now: int) -> CounterState:
        enforce = counter.enforce
        if counter.window_ms:
            window = self._window(counter, now)
            used = window.total if window else 0
            reset = (max(window.buckets) + BUCKETS) * counter.bucket_ms - now if window else 0
            need = _need(enforce, used, amount, counter.limit)
            if need <= 0 or window is None:
                return CounterState(used, reset, 0 if need <= 0 else -1)
            if enforce is Enforce.FIT and amount > counter.limit:
                return CounterState(used, reset, -1)
            return CounterState(used, reset, window.wait_ms(need, counter.bucket_ms, now))
        period = self._period(counter, now)
        used = period.total if period else 0
        reset = max(0, counter.period_end_ms - now)
        if _need(enforce, used, amount, counter.limit) <= 0:
            return CounterState(used, reset, 0)
        never = enforce is Enforce.FIT and amount > counter.limit
        return CounterState(used, reset, -1 if never else max(1, reset))

    def _sweep(self, now: int) -> None:
        self._next_sweep_ms = now + _SWEEP_MS
        for key, period in list(self._periods.items()):
            if period.expires_ms <= now:
                del self._periods[key]
        for key, window in list(self._windows.items()):
            window_ms = self._windows_ms[key]
            window.trim(now // max(1, window_ms // BUCKETS))
            if not window.buckets:
                del self._windows[key], self._windows_ms[key]

    def _add(self, counter: Counter, amount: int, now: int) -> None:
        if counter.window_ms:
            window = self._windows.setdefault(counter.key, _Window())
            self._windows_ms[counter.key] = counter.window_ms
            bucket = now // counter.bucket_ms
            window.buckets[bucket] = window.buckets.get(bucket, 0) + amount
            window.total += amount
            return
        period = self._periods.setdefault(counter.key, _Period())
        period.total += amount
        period.expires_ms = max(1, counter.period_end_ms - now) + now + _PERIOD_GRACE_MS

    def _settle_window(self, counter: Counter, at_ms: int, delta: int, now: int) -> None:
        window = self._window(counter, now)
        bucket = at_ms // counter.bucket_ms
        if window is not None and bucket in window.buckets:
            window.buckets[bucket] += delta
            window.total += delta

    def _settle_period(self, counter: Counter, delta: int, actual: int, now: int) -> list[Crossing]:
        period = self._period(counter, now)
        if period is None:
            return []
        period.total += delta
        period.settled += actual
        crossed = [
            t
            for t in counter.alert_thresholds
            if period.settled >= t * counter.limit and t not in period.alerted
        ]
        period.alerted.update(crossed)
        return [Crossing(counter, t, period.settled) for t in crossed]

    def _window(self, counter: Counter, now: int) -> _Window | None:
        window = self._windows.get(counter.key)
        if window is None:
            return None
        window.trim(now // counter.bucket_ms)
        if not window.buckets:
            del self._windows[counter.key], self._windows_ms[counter.key]
            return None
        return window

    def _period(self, counter: Counter, now: int) -> _Period | None:
        period = self._periods.get(counter.key)
        if period is not None and period.expires_ms <= now:
            del self._periods[counter.key]
            return None
        return period


def _need(enforce: Enforce, used: int, amount: int, limit: int) -> int:
    """How much must leave the counter before the request is admitted (≤ 0: nothing)."""
    if enforce is Enforce.FIT:
        return used + amount - limit
    if enforce is Enforce.BELOW:
        return used - limit + 1
    return 0


def _reset_after_add(counter: Counter, state: CounterState, now: int) -> int:
    if counter.window_ms:
        bucket_ms = counter.bucket_ms
        return (now // bucket_ms + BUCKETS) * bucket_ms - now
    return state.reset_ms


def _now_ms() -> int:
    return int(time.time() * 1000)
