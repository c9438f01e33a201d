"""A small in-process cache with TTLs, single-flight loads and whole-cache invalidation.

The key and admin-token lookups on the request path go through it: a hit costs a dict
lookup; a miss loads once however many requests wait for it. When a reload fails (the
database is down) an expired entry keeps serving, so known callers ride out an outage.
`clear()` (driven by cross-replica invalidation signals) also voids loads already in
flight, so a load that read the database before a revocation cannot put the revoked key
back in the cache.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(
        self,
        load: Callable[[str], Awaitable[T | None]],
        ttl_s: float,
        miss_ttl_s: float,
        max_entries: int = 100_000,
    ) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._miss_ttl_s = miss_ttl_s
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, T | None]] = {}
        self._loading: dict[str, asyncio.Future[T | None]] = {}
        self._generation = 0

    async def get(self, key: str) -> T | None:
        entry = self._entries.get(key)
        if entry is not None and entry[0] > time.monotonic():
            return entry[1]
        loading = self._loading.get(key)
        if loading is None:
            # A task of its own: a caller that goes away must not cancel the others' load.
            loading = asyncio.ensure_future(self._fill(key, self._generation))
            self._loading[key] = loading
            loading.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(loading)

    def clear(self) -> None:
        self._entries.clear()
        self._generation += 1

    async def _fill(self, key: str, generation: int) -> T | None:
        try:
            value = await self._load(key)
        except Exception:
            stale = self._entries.get(key)
            if stale is None:
                raise
            # Retry the load soon, not on every request meanwhile.
            self._entries[key] = (time.monotonic() + self._miss_ttl_s, stale[1])
            return stale[1]
        if generation == self._generation:
            self._store(key, value)
        return value

    def _settled(self, key: str, done: asyncio.Future[T | None]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if not done.cancelled():
            done.exception()  # retrieved, so an unawaited failure is not reported twice

    def _store(self, key: str, value: T | None) -> None:
        if len(self._entries) >= self._max_entries:
            # Crude but bounded: a flood of unknown keys cannot grow the cache without end.
            self._entries.clear()
        ttl = self._ttl_s if value is not None else self._miss_ttl_s
        self._entries[key] = (time.monotonic() + ttl, value)
