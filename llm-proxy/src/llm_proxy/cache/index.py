"""Nearest cached prompts, per semantic scope, in process memory.

Redis 7.0 has no vector search, so every gateway keeps the vectors of the scopes it has
served in numpy arrays (the store keeps them in sync across replicas). A scan is two steps:
sign bits of a fixed random projection give each entry a 384-bit code whose Hamming distance
to the query's code estimates the angle between them; only codes within reach of the
threshold are scored exactly, from float16 copies of the vectors. At 100k entries the bit
scan takes well under a millisecond where a float32 matrix product over them takes ~15-20 ms
(153 MB read per lookup).

The scan reads the codes' first half for every entry and the rest only for the few entries
that half leaves in reach: on the bench's 100k MiniLM vectors ~1.5 % of them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from llm_proxy.cache.reading import Fingerprint

_BITS = 384
_WORDS = _BITS // 64
# Extra Hamming distance, in standard deviations, allowed beyond the distance the threshold's
# angle predicts: a true neighbour falls outside it about once in 30,000 lookups.
_SIGMAS = 4.0
# The first pass reads this many of a code's words. Its own bound is set at more standard
# deviations, so that it loses no more true neighbours than the whole code's bound does (on
# 300 probes of the bench's 100k vectors: the same 2 of 70,011 pairs at cosine >= 0.8).
# Between 2 and 3: its counts are summed in uint8.
_FIRST_WORDS = 3
_FIRST_SIGMAS = 4.5
# At most this many codes within the bound are scored exactly, the nearest first.
_RERANKED = 64
# Most scopes (one per conversation prefix) hold one or two entries: start small, double.
_INITIAL_CAPACITY = 2


@dataclass(frozen=True, slots=True)
class Candidate:
    id: str
    similarity: float
    fingerprint: Fingerprint
    created: float


def _projection(dimensions: int) -> np.ndarray:
    # A fixed seed: every replica must derive the same codes from the same vector.
    return np.random.default_rng(0x5EED).standard_normal((dimensions, _BITS)).astype(np.float32)


def _hamming_bound(threshold: float, bits: int = _BITS, sigmas: float = _SIGMAS) -> int:
    angle = math.acos(max(-1.0, min(1.0, threshold)))
    share = angle / math.pi
    return math.ceil(bits * share + sigmas * math.sqrt(bits * share * (1 - share)))


@dataclass
class _Scope:
    dimensions: int
    # A code's first `_FIRST_WORDS` words, one row per word: the first pass reads each word of
    # every entry in one contiguous run.
    heads: np.ndarray = field(init=False)  # (_FIRST_WORDS, capacity) uint64
    # Its other words, one row per entry: the few entries the first pass keeps are read a
    # cache line each.
    tails: np.ndarray = field(init=False)  # (capacity, _WORDS - _FIRST_WORDS) uint64
    vectors: np.ndarray = field(init=False)  # (capacity, dimensions) float16
    ids: list[str] = field(default_factory=list)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    created: list[float] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.heads = np.zeros((_FIRST_WORDS, _INITIAL_CAPACITY), dtype=np.uint64)
        self.tails = np.zeros((_INITIAL_CAPACITY, _WORDS - _FIRST_WORDS), dtype=np.uint64)
        self.vectors = np.zeros((_INITIAL_CAPACITY, self.dimensions), dtype=np.float16)

    def add(
        self, id: str, code: np.ndarray, vector: np.ndarray, fp: Fingerprint, at: float
    ) -> None:
        row = self.rows.get(id)
        if row is None:
            row = len(self.ids)
            if row == self.vectors.shape[0]:
                self._grow()
            self.ids.append(id)
            self.fingerprints.append(fp)
            self.created.append(at)
            self.rows[id] = row
        else:
            self.fingerprints[row], self.created[row] = fp, at
        self.heads[:, row] = code[:_FIRST_WORDS]
        self.tails[row] = code[_FIRST_WORDS:]
        self.vectors[row] = vector

    def remove(self, id: str) -> None:
        row = self.rows.pop(id, None)
        if row is None:
            return
        last = len(self.ids) - 1
        if row != last:
            moved = self.ids[last]
            self.ids[row] = moved
            self.fingerprints[row] = self.fingerprints[last]
            self.created[row] = self.created[last]
            self.heads[:, row] = self.heads[:, last]
            self.tails[row] = self.tails[last]
            self.vectors[row] = self.vectors[last]
            self.rows[moved] = row
        self.ids.pop()
        self.fingerprints.pop()
        self.created.pop()

    def _grow(self) -> None:
        capacity = self.vectors.shape[0] * 2
        held = self.vectors.shape[0]
        heads = np.zeros((_FIRST_WORDS, capacity), dtype=np.uint64)
        heads[:, :held] = self.heads
        tails = np.zeros((capacity, _WORDS - _FIRST_WORDS), dtype=np.uint64)
        tails[:held] = self.tails
        vectors = np.zeros((capacity, self.dimensions), dtype=np.float16)
        vectors[:held] = self.vectors
        self.heads, self.tails, self.vectors = heads, tails, vectors

    def within(
        self, code: np.ndarray, first_bound: int, bound: int, scratch: _Scratch
    ) -> np.ndarray:
        """Rows whose code is at most `bound` bits from `code` (the nearest `_RERANKED`).

        The code's first `_FIRST_WORDS` words are compared for every row, one call each over
        contiguous rows; the other words only for the rows within `first_bound` there.
        """
        count = len(self.ids)
        differing, bits, near = scratch.take(count)
        np.bitwise_xor(self.heads[:, :count], code[:_FIRST_WORDS, None], out=differing)
        np.bitwise_count(differing, out=bits)
        # The first words' counts fit in uint8 (at most 64 * _FIRST_WORDS bits), added row by
        # row: a fifth of the time of a reduction cast to uint16.
        np.add(bits[0], bits[1], out=near)
        for word in range(2, _FIRST_WORDS):
            np.add(near, bits[word], out=near)
        rows = np.flatnonzero(near <= first_bound)
        rest = np.bitwise_count(self.tails[rows] ^ code[_FIRST_WORDS:])
        # Summed in uint16: the other words' counts with them wrap past 255.
        distance = np.add.reduce(rest, axis=1, dtype=np.uint16) + near[rows]
        keep = distance <= bound
        within: np.ndarray = rows[keep]
        if within.size > _RERANKED:
            # A query near the middle of the crowd passes the bound for many codes; the
            # nearest codes are the ones worth scoring exactly.
            within = within[np.argpartition(distance[keep], _RERANKED)[:_RERANKED]]
        return within


class _Scratch:
    """The first pass's buffers, kept between scans and grown to the largest scope.

    Fresh ones cost more than the pass: at 100k codes they are megabytes of new pages to
    fault in on every lookup. Scans run on the event loop, one at a time.
    """

    def __init__(self) -> None:
        self._differing = np.empty((_FIRST_WORDS, 0), dtype=np.uint64)
        self._bits = np.empty((_FIRST_WORDS, 0), dtype=np.uint8)
        self._near = np.empty(0, dtype=np.uint8)

    def take(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if count > self._near.size:
            size = max(count, 2 * self._near.size)
            self._differing = np.empty((_FIRST_WORDS, size), dtype=np.uint64)
            self._bits = np.empty((_FIRST_WORDS, size), dtype=np.uint8)
            self._near = np.empty(size, dtype=np.uint8)
        return self._differing[:, :count], self._bits[:, :count], self._near[:count]


class SemanticIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._projection = _projection(dimensions)
        self._scopes: dict[str, _Scope] = {}
        self._scope_of: dict[str, str] = {}
        self._scratch = _Scratch()

    def __len__(self) -> int:
        return len(self._scope_of)

    def has_scope(self, scope: str) -> bool:
        return scope in self._scopes

    def open_scope(self, scope: str) -> None:
        """Mark a scope as held here (possibly empty), so additions to it are kept."""
        self._scopes.setdefault(scope, _Scope(self.dimensions))

    def add(self, scope: str, id: str, vector: np.ndarray, fp: Fingerprint, at: float) -> None:
        if vector.shape != (self.dimensions,):
            return
        self.open_scope(scope)
        self._scopes[scope].add(id, self._code(vector), vector, fp, at)
        self._scope_of[id] = scope

    def remove(self, id: str) -> None:
        scope = self._scope_of.pop(id, None)
        if scope is None:
            return
        held = self._scopes[scope]
        held.remove(id)
        if not held.ids:
            # Forgotten rather than kept empty: a later lookup reads it from the store again.
            del self._scopes[scope]

    def clear(self) -> None:
        self._scopes.clear()
        self._scope_of.clear()

    def nearest(
        self, scope: str, vector: np.ndarray, threshold: float, limit: int = 8
    ) -> list[Candidate]:
        """Up to `limit` entries at cosine similarity ≥ threshold, the most similar first."""
        held = self._scopes.get(scope)
        if held is None or not held.ids or vector.shape != (self.dimensions,):
            return []
        first_bound = _hamming_bound(threshold, _FIRST_WORDS * 64, _FIRST_SIGMAS)
        rows = held.within(
            self._code(vector), first_bound, _hamming_bound(threshold), self._scratch
        )
        if rows.size == 0:
            return []
        similarity = held.vectors[rows].astype(np.float32) @ vector.astype(np.float32)
        keep = similarity >= threshold
        rows, similarity = rows[keep], similarity[keep]
        order = np.argsort(-similarity)[:limit]
        return [
            Candidate(held.ids[r], float(s), held.fingerprints[r], held.created[r])
            for r, s in zip(rows[order].tolist(), similarity[order].tolist(), strict=True)
        ]

    def _code(self, vector: np.ndarray) -> np.ndarray:
        bits = np.packbits((vector.astype(np.float32) @ self._projection) > 0)
        return bits.view(">u8").astype(np.uint64)
