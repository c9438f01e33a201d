"""The ways of training our router that `train` weighs against each other on transfer.

A recipe is the head's inputs, its regularisation and whether it is fitted within
benchmarks (see `head.py`). Each one is trained on every proper subset of the benchmarks and
scored on the benchmarks it did not see (`transfer.py`); the one that transfers best ships.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_service.inputs import InputKind, columns_of
from router_service.training.head import Head, fit_head


@dataclass(frozen=True)
class Recipe:
    name: str
    inputs: InputKind
    c: float
    within_benchmarks: bool

    def fit(
        self,
        rows: np.ndarray,
        labels: np.ndarray,
        benchmark: np.ndarray,
        sample_weight: np.ndarray | None = None,
    ) -> Head:
        """A head on full rows (`embedding+features`) of the training items."""
        groups = benchmark if self.within_benchmarks else None
        return fit_head(columns_of(rows, self.inputs), labels, self.c, groups, sample_weight)

    def score(self, head: Head, rows: np.ndarray) -> np.ndarray:
        return head.score(columns_of(rows, self.inputs))

    def describe(self) -> str:
        fit = "within benchmarks" if self.within_benchmarks else "pooled"
        return f"logistic regression C={self.c}, {fit}, on {self.inputs}"


# The previous default first; the others were the most promising of a wider sweep.
CANDIDATES = (
    Recipe("minilm-pooled", "embedding+features", 0.3, within_benchmarks=False),
    Recipe("minilm-within", "embedding+features", 0.1, within_benchmarks=True),
    Recipe("embedding-within", "embedding", 0.3, within_benchmarks=True),
    Recipe("features-within", "features", 1.0, within_benchmarks=True),
)
