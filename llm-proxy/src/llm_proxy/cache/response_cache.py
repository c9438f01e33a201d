"""The response cache: exact lookups by request hash, semantic lookups by nearest prompt.

It lives on the Gateway for the process's lifetime; settings are read from the live config on
every call, so a reload changes thresholds, TTL and bounds at once. Lookups and writes never
fail a request: a store that cannot be reached is a miss, and a write that fails is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import orjson
import redis.asyncio as redis

from llm_proxy.cache.embedder import Embedder, build_embedder
from llm_proxy.cache.guard import agree
from llm_proxy.cache.index import SemanticIndex
from llm_proxy.cache.keys import Prompt, semantic_scope
from llm_proxy.cache.reading import Token, fingerprint, read
from llm_proxy.cache.redis_store import RedisStore
from llm_proxy.cache.replay import cacheable
from llm_proxy.cache.store import Bounds, Entry, MemoryStore, Semantic, Store
from llm_proxy.config.models import Cache, GatewayConfig, SemanticCache

log = logging.getLogger("llm_proxy.cache")

# Hit and miss counters are added to the shared store in batches, this often.
_FLUSH_INTERVAL_S = 1.0
_COUNTERS = ("lookups", "hits_exact", "hits_semantic", "misses", "bypassed", "stored")


@dataclass(slots=True)
class CacheRequest:
    """One request as the cache sees it; a lookup leaves its scope and vector for the write.

    The prompt is read for the guard only when a candidate is to be compared, or by the
    write, after the answer: a miss with no candidate (most of them) never waits for it.
    """

    team: str
    id: str
    prompt: Prompt | None
    threshold: float
    embedded: tuple[str, np.ndarray] | None = None
    asked: list[Token] | None = None

    def reading(self) -> list[Token]:
        """The prompt's meaning-bearing tokens, read once (empty: no semantic entry)."""
        if self.asked is None:
            self.asked = read(self.prompt.text) if self.prompt is not None else []
        return self.asked

    def semantic(self) -> Semantic | None:
        if self.embedded is None or not self.reading():
            return None
        return Semantic(*self.embedded, fingerprint(self.reading()))


class Found(NamedTuple):
    body: bytes
    cost_usd: float
    # None for an exact hit.
    similarity: float | None = None


class ResponseCache:
    def __init__(self, config: Callable[[], GatewayConfig], store: Store | None = None) -> None:
        self._config = config
        redis_section = config().redis
        if store is None and redis_section.url:
            store = RedisStore(redis_section.url, redis_section.prefix, None)
        self._store: Store = store or MemoryStore(None)
        self._embedder: Embedder | None = None
        self._embedder_settings: tuple[str, str, float, int] | None = None
        self._counts: dict[str, float] = {}
        # Held while counts move to the store and while stats reads the store's and ours: a
        # read in between (Redis has added a batch, its reply is still on the way) would
        # count that batch twice, or not at all.
        self._counting = asyncio.Lock()
        self._flusher: asyncio.Task[None] | None = None
        self._writes: set[asyncio.Task[None]] = set()
        self.prepare(config().cache)

    @property
    def settings(self) -> Cache:
        return self._config().cache

    def prepare(self, settings: Cache) -> None:
        """Load the embedder the settings ask for (at start, so no request waits for it)."""
        if settings.enabled and settings.semantic.enabled:
            self._embedder_for(settings.semantic)

    def count(self, name: str, value: float = 1.0) -> None:
        self._counts[name] = self._counts.get(name, 0.0) + value
        if self._flusher is None:
            self._flusher = asyncio.ensure_future(self._flush_forever())

    async def lookup(self, request: CacheRequest) -> Found | None:
        settings = self.settings
        self.count("lookups")
        try:
            stored = await self._store.get(request.id, settings.ttl_s)
            if stored is not None:
                self.count("hits_exact")
                return Found(stored.body, stored.cost_usd)
            found = await self._nearest(request, settings)
        except redis.RedisError as error:
            log.warning("cache lookup failed, answering uncached: %s", error)
            found = None
        self.count("hits_semantic" if found is not None else "misses")
        return found

    def store(self, request: CacheRequest, body: bytes, cost_usd: Callable[[], float]) -> None:
        """Write the answer in the background: the client is not kept waiting for it.

        The cost is asked for then, once the request has settled its usage.
        """
        self._track(self._write(request, body, cost_usd))

    async def clear(self, team: str | None, older_than_s: float | None) -> int:
        return await self._store.clear(team, older_than_s)

    async def stats(self) -> dict[str, Any]:
        usage = await self._store.usage()
        counters = await self._counters()
        lookups = counters.get("lookups", 0.0)
        exact, semantic = counters.get("hits_exact", 0.0), counters.get("hits_semantic", 0.0)
        index = self._store.index
        return {
            "enabled": self.settings.enabled,
            "backend": "redis" if isinstance(self._store, RedisStore) else "memory",
            "entries": usage.entries,
            "bytes": usage.bytes,
            **{name: int(counters.get(name, 0.0)) for name in _COUNTERS},
            "hit_rate": _share(exact + semantic, lookups),
            "hit_rate_exact": _share(exact, lookups),
            "hit_rate_semantic": _share(semantic, lookups),
            "saved_usd": round(counters.get("saved_usd", 0.0), 8),
            "semantic": {
                "enabled": self.settings.semantic.enabled,
                "embedder": self._embedder.name if self._embedder else None,
                "indexed_here": len(index) if index is not None else 0,
                "guard_refusals": int(counters.get("guard_refusals", 0.0)),
            },
        }

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        if self._flusher is not None:
            # Between batches, never in one: a batch cut off on its way is lost or doubled.
            async with self._counting:
                self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self._flush()
        if self._embedder is not None:
            await self._embedder.close()
        await self._store.close()

    async def _nearest(self, request: CacheRequest, settings: Cache) -> Found | None:
        prompt = request.prompt
        if prompt is None or not settings.semantic.enabled:
            return None
        embedder = self._embedder_for(settings.semantic)
        if embedder is None:
            return None
        vector = await embedder.embed(prompt.text)
        if vector is None:
            return None
        scope = semantic_scope(prompt, embedder.name)
        request.embedded = (scope, vector)
        index = self._index_for(vector)
        await self._store.hold_scope(scope)
        oldest = time.time() - settings.ttl_s
        for candidate in index.nearest(scope, vector, request.threshold):
            if candidate.created < oldest:
                continue
            asked = request.reading()
            if not asked:
                # Nothing in it carries meaning ("hi!"): only an exact hit may answer it.
                return None
            if not agree(candidate.fingerprint, asked):
                self.count("guard_refusals")
                continue
            stored = await self._store.get(candidate.id, settings.ttl_s)
            if stored is not None:
                return Found(stored.body, stored.cost_usd, candidate.similarity)
        return None

    def _embedder_for(self, settings: SemanticCache) -> Embedder | None:
        wanted = (
            settings.embedder,
            settings.embedder_model,
            settings.embedder_timeout_ms,
            settings.embedder_max_tokens,
        )
        if wanted != self._embedder_settings:
            self._embedder_settings = wanted
            previous, self._embedder = self._embedder, build_embedder(settings)
            if previous is not None:
                self._track(previous.close())
        return self._embedder

    def _index_for(self, vector: np.ndarray) -> SemanticIndex:
        index = self._store.index
        if index is None or index.dimensions != vector.shape[0]:
            index = self._store.index = SemanticIndex(vector.shape[0])
        return index

    async def _write(self, request: CacheRequest, body: bytes, cost: Callable[[], float]) -> None:
        try:
            if not cacheable(orjson.loads(body)):
                return
        except orjson.JSONDecodeError:
            return
        entry = Entry(request.id, request.team, body, time.time(), cost(), request.semantic())
        settings = self.settings
        bounds = Bounds(settings.ttl_s, settings.max_entries, settings.max_bytes)
        try:
            await self._store.put(entry, bounds)
            self.count("stored")
        except redis.RedisError as error:
            log.warning("cache write failed: %s", error)

    def _track(self, work: Coroutine[Any, Any, None]) -> None:
        """Run in the background, holding a reference until done (and awaited on close)."""
        task = asyncio.ensure_future(work)
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_INTERVAL_S)
            await self._flush()

    async def _flush(self) -> None:
        async with self._counting:
            counts, self._counts = self._counts, {}
            if not counts:
                return
            try:
                await self._store.add_counters(counts)
            except redis.RedisError as error:
                log.warning("cache counters not saved: %s", error)
                for name, value in counts.items():
                    self._counts[name] = self._counts.get(name, 0.0) + value

    async def _counters(self) -> dict[str, float]:
        """The store's counts and this process's not yet added there, each once."""
        async with self._counting:
            counters = await self._store.counters()
            for name, value in self._counts.items():
                counters[name] = counters.get(name, 0.0) + value
        return counters


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole else 0.0
