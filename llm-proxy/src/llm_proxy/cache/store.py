"""Where cached answers live: the entry, the bounds, and the in-process store.

`MemoryStore` is the embedded default (no `redis.url`): one process, an LRU bounded by count
and bytes, entries expiring `ttl_s` after they were written. `RedisStore` (redis_store.py) has
the same surface and is shared by every replica.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import numpy as np

from llm_proxy.cache.index import SemanticIndex
from llm_proxy.cache.reading import Fingerprint


@dataclass(frozen=True, slots=True)
class Semantic:
    """How an entry is found by meaning: its scope, its prompt's vector and fingerprint."""

    scope: str
    vector: np.ndarray
    fingerprint: Fingerprint


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    team: str
    body: bytes
    created: float
    cost_usd: float
    semantic: Semantic | None = None

    @property
    def size(self) -> int:
        return len(self.body)


@dataclass(frozen=True, slots=True)
class Bounds:
    ttl_s: float
    max_entries: int
    max_bytes: int


class Stored(NamedTuple):
    """What a hit needs back: the answer and what it cost when it was first made (made on
    every hit: a NamedTuple costs a third of a frozen dataclass to make)."""

    body: bytes
    cost_usd: float


@dataclass(frozen=True, slots=True)
class Usage:
    entries: int
    bytes: int


class Store(Protocol):
    # The nearest-neighbour index of this process, fed by the store; None: exact only.
    index: SemanticIndex | None

    async def get(self, id: str, ttl_s: float) -> Stored | None: ...

    async def put(self, entry: Entry, bounds: Bounds) -> None: ...

    async def hold_scope(self, scope: str) -> None:
        """Make sure this process's index holds every entry of `scope`."""

    async def clear(self, team: str | None, older_than_s: float | None) -> int: ...

    async def usage(self) -> Usage: ...

    async def add_counters(self, counters: dict[str, float]) -> None: ...

    async def counters(self) -> dict[str, float]: ...

    async def close(self) -> None: ...


class MemoryStore:
    def __init__(self, index: SemanticIndex | None) -> None:
        self.index = index
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._counters: dict[str, float] = {}

    async def get(self, id: str, ttl_s: float) -> Stored | None:
        entry = self._entries.get(id)
        if entry is None:
            return None
        if entry.created < time.time() - ttl_s:
            self._remove(id)
            return None
        self._entries.move_to_end(id)
        return Stored(entry.body, entry.cost_usd)

    async def put(self, entry: Entry, bounds: Bounds) -> None:
        self._remove(entry.id)
        self._entries[entry.id] = entry
        self._bytes += entry.size
        if entry.semantic is not None and self.index is not None:
            semantic = entry.semantic
            self.index.add(
                semantic.scope, entry.id, semantic.vector, semantic.fingerprint, entry.created
            )
        while len(self._entries) > bounds.max_entries or self._bytes > bounds.max_bytes:
            self._remove(next(iter(self._entries)))

    async def hold_scope(self, scope: str) -> None:
        return None

    async def clear(self, team: str | None, older_than_s: float | None) -> int:
        cutoff = time.time() - older_than_s if older_than_s is not None else None
        doomed = [
            e.id
            for e in self._entries.values()
            if (team is None or e.team == team) and (cutoff is None or e.created <= cutoff)
        ]
        for id in doomed:
            self._remove(id)
        return len(doomed)

    async def usage(self) -> Usage:
        return Usage(len(self._entries), self._bytes)

    async def add_counters(self, counters: dict[str, float]) -> None:
        for name, value in counters.items():
            self._counters[name] = self._counters.get(name, 0.0) + value

    async def counters(self) -> dict[str, float]:
        return dict(self._counters)

    async def close(self) -> None:
        return None

    def _remove(self, id: str) -> None:
        entry = self._entries.pop(id, None)
        if entry is None:
            return
        self._bytes -= entry.size
        if self.index is not None:
            self.index.remove(id)
