"""Nearest cached prompts, per semantic scope, in process memory.

Redis 7.0 has no vector search, so every gateway keeps the vectors of the scopes it has
served in numpy arrays (the store keeps them in sync across replicas). A scan is two steps:
sign bits of a fixed random projection give each entry a 384-bit code whose Hamming distance
to the query's code estimates the angle between them; only codes within reach of the
threshold are scored exactly, from float16 copies of the vectors. At 100k entries the bit
scan takes well under a millisecond where a float32 matrix product over them takes ~15 ms.
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


def _hamming_bound(threshold: float) -> int:
    angle = math.acos(max(-1.0, min(1.0, threshold)))
    share = angle / math.pi
    return math.ceil(_BITS * share + _SIGMAS * math.sqrt(_BITS * share * (1 - share)))


@dataclass
class _Scope:
    dimensions: int
    codes: np.ndarray = field(init=False)  # (_WORDS, capacity) uint64, one row per code word
    vectors: np.ndarray = field(init=False)  # (capacity, dimensions) float16
    ids: list[str] = field(default_factory=list)
    fingerprints: list[Fingerprint] = field(default_factory=list)
    created: list[float] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.codes = np.zeros((_WORDS, _INITIAL_CAPACITY), dtype=np.uint64)
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
        self.codes[:, row] = code
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
            self.codes[:, row] = self.codes[:, last]
            self.vectors[row] = self.vectors[last]
            self.rows[moved] = row
        self.ids.pop()
        self.fingerprints.pop()
        self.created.pop()

    def _grow(self) -> None:
        capacity = self.vectors.shape[0] * 2
        codes = np.zeros((_WORDS, capacity), dtype=np.uint64)
        codes[:, : self.codes.shape[1]] = self.codes
        vectors = np.zeros((capacity, self.dimensions), dtype=np.float16)
        vectors[: self.vectors.shape[0]] = self.vectors
        self.codes, self.vectors = codes, vectors

    def within(self, code: np.ndarray, bound: int) -> np.ndarray:
        """Rows whose code is at most `bound` bits from `code` (the nearest `_RERANKED`)."""
        count = len(self.ids)
        differing = np.empty(count, dtype=np.uint64)
        bits = np.empty(count, dtype=np.uint8)
        # Summed in uint16: bitwise_count gives uint8, and six words of it wrap past 255.
        distance = np.zeros(count, dtype=np.uint16)
        for word in range(_WORDS):
            # Into buffers made once a scan: at 100k codes a fresh array per step costs more
            # than the step.
            np.bitwise_xor(self.codes[word, :count], code[word], out=differing)
            np.bitwise_count(differing, out=bits)
            np.add(distance, bits, out=distance)
        rows = np.flatnonzero(distance <= bound)
        if rows.size > _RERANKED:
            # A query near the middle of the crowd passes the bound for many codes; the
            # nearest codes are the ones worth scoring exactly.
            rows = rows[np.argpartition(distance[rows], _RERANKED)[:_RERANKED]]
        return rows


class SemanticIndex:
    def __init__(self, dimensions: int) -> None:
        self.dimensions = dimensions
        self._projection = _projection(dimensions)
        self._scopes: dict[str, _Scope] = {}
        self._scope_of: dict[str, str] = {}

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
        rows = held.within(self._code(vector), _hamming_bound(threshold))
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
