"""The counters' front door for the pipeline: reserve, settle, read, whatever the store's health.

It picks the store (Redis when `redis.url` is set, in process otherwise), batches
settles, hands crossed budget thresholds to the alerts, and applies the fail mode when
the store does not answer: after a failure the store is left alone for `redis_retry_s`,
so a dead Redis costs one short timeout, not one per request. While it runs it renews the
leases of its requests in flight and sweeps the ended leases of dead replicas
(`limits.leases`). Settles that could not be written are kept, their leases renewed, and
sent again once the store answers: a lease part settles once however often it is sent.
"""

from __future__ import annotations

import asyncio
import logging
import time

from llm_proxy.config.models import GatewayConfig, Limits
from llm_proxy.limits.alerts import AlertSink
from llm_proxy.limits.counters import (
    Adjustment,
    Charge,
    Counter,
    CounterStore,
    StoreUnavailable,
    Verdict,
)
from llm_proxy.limits.leases import Delivered, Lease
from llm_proxy.limits.memory_store import MemoryStore
from llm_proxy.limits.metrics import LimitsMetrics
from llm_proxy.limits.redis_store import RedisStore

log = logging.getLogger("llm_proxy.limits")

# Ended leases given back per sweep call; a sweep calls again while calls come back full.
_SWEEP_BATCH = 100
# Settles kept while the store is down, at most; past it the oldest are dropped (their
# leases end and the sweep gives their reservations back).
_MAX_UNWRITTEN = 100_000


def open_store(config: GatewayConfig) -> CounterStore:
    if config.redis.url is None:
        return MemoryStore()
    timeout_s = config.limits.redis_timeout_ms / 1000
    return RedisStore(config.redis.url, config.redis.prefix, timeout_s)


class Enforcer:
    def __init__(self, config: GatewayConfig) -> None:
        self.store = open_store(config)
        self.metrics = LimitsMetrics()
        self.alerts = AlertSink(self.metrics)
        self._policy = config.limits
        self._down_until = 0.0
        self._pending: list[Adjustment] = []
        self._flusher: asyncio.Task[None] | None = None
        # The lease parts this replica holds: renewed until their settles are written.
        self._live: set[Lease] = set()
        # Settle batches the store did not take (each whole lease parts), oldest first.
        self._unwritten: list[list[Adjustment]] = []
        self._keeper: asyncio.Task[None] | None = None
        self._leased = isinstance(self.store, RedisStore)

    def configure(self, limits: Limits) -> None:
        """Follow a config reload (the store itself stays: its URL needs a restart)."""
        self._policy = limits

    def start(self) -> None:
        """Renew this replica's leases and sweep ended ones, while the loop runs."""
        if self._leased and self._keeper is None:
            self._keeper = asyncio.ensure_future(self._keep())

    async def settle_delivered(self, answers: list[Delivered]) -> None:
        """A dead replica's answers (its adopted write-ahead file): settle their leases."""
        try:
            self.metrics.leases_settled += await self.store.settle_delivered(answers)
        except StoreUnavailable as exc:
            # Their leases end all the same; the sweep gives them back.
            self._went_down(exc)

    async def reserve(self, charges: list[Charge], lease: Lease | None = None) -> Verdict | None:
        """The store's verdict; None when it is down and the fail mode is open.

        Raises StoreUnavailable when it is down and the fail mode is closed.
        """
        self.metrics.reservations += 1
        if time.monotonic() >= self._down_until:
            try:
                verdict = await self.store.reserve(charges, lease, self._lease_ms)
            except StoreUnavailable as exc:
                self._went_down(exc)
            else:
                if verdict.admitted and lease is not None and self._leased:
                    self._live.add(lease)
                return verdict
        if self._policy.fail_mode == "closed":
            self.metrics.fail_closed += 1
            raise StoreUnavailable("the rate-limit store is unavailable")
        self.metrics.fail_open += 1
        return None

    def settle(self, adjustments: list[Adjustment]) -> None:
        """Queue real amounts; they are written in the background, batched."""
        if not adjustments:
            return
        self._pending += adjustments
        self._retry_unwritten()
        self._kick()

    async def read(self, counters: list[Counter]) -> list[int]:
        try:
            return await self.store.read(counters)
        except StoreUnavailable as exc:
            self._went_down(exc)
            raise

    async def drain(self) -> None:
        """Write what is queued (on shutdown, and for tests that read right after)."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.shield(self._flusher)

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
        self._retry_unwritten()
        self._kick()
        await self.drain()
        await self.alerts.close()
        await self.store.close()

    def _kick(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            if time.monotonic() < self._down_until:
                self._keep_for_later(batch)
                continue
            try:
                crossings = await self.store.settle(batch)
            except StoreUnavailable as exc:
                self._went_down(exc)
                self._keep_for_later(batch)
                continue
            self._written(batch)
            self.alerts.fire(crossings, self._policy.alerts.webhook_url)

    def _written(self, batch: list[Adjustment]) -> None:
        for adjustment in batch:
            if adjustment.lease is not None:
                self._live.discard(adjustment.lease)

    def _keep_for_later(self, batch: list[Adjustment]) -> None:
        """Leased settles wait for the store. One without a lease could apply twice if
        sent again (its first try may have landed), so it is lost, as are the oldest past
        the bound; the leases of those lost end, and the sweep gives them back."""
        leased = [a for a in batch if a.lease is not None]
        self._lost([a for a in batch if a.lease is None])
        if leased:
            self._unwritten.append(leased)
        while sum(len(b) for b in self._unwritten) > _MAX_UNWRITTEN:
            dropped = self._unwritten.pop(0)
            self._written(dropped)
            self._lost(dropped)

    def _retry_unwritten(self) -> None:
        """The store answers again: send what it missed, before the newer settles."""
        if self._unwritten and time.monotonic() >= self._down_until:
            kept, self._unwritten = self._unwritten, []
            self._pending[:0] = [a for batch in kept for a in batch]

    @property
    def _lease_ms(self) -> int:
        return round(self._policy.lease_s * 1000)

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._policy.lease_s / 3)
            if time.monotonic() < self._down_until:
                continue
            try:
                await self._renew_and_sweep()
            except StoreUnavailable as exc:
                self._went_down(exc)
                continue
            if self._unwritten:
                self._retry_unwritten()
                self._kick()

    async def _renew_and_sweep(self) -> None:
        if self._live:
            await self.store.renew(sorted({lease.holder for lease in self._live}), self._lease_ms)
        while True:
            ended = await self.store.sweep(_SWEEP_BATCH)
            self.metrics.leases_ended += ended
            if ended < _SWEEP_BATCH:
                return

    def _went_down(self, exc: StoreUnavailable) -> None:
        self.metrics.store_errors += 1
        if time.monotonic() >= self._down_until:
            log.error(
                "limits: counter store unavailable (%s); failing %s for %.1fs",
                exc,
                self._policy.fail_mode,
                self._policy.redis_retry_s,
            )
        self._down_until = time.monotonic() + self._policy.redis_retry_s

    def _lost(self, batch: list[Adjustment]) -> None:
        self.metrics.settles_lost += len(batch)
