"""How well a head trained one way routes questions it never saw, inside the benchmarks it
was trained on: the held-out fifth of every benchmark, and MT-Bench by 5-fold
cross-validation (its held-out fifth is about 12 questions, too few to trust). Across
benchmarks, the closest this data comes to real traffic, is `transfer.py`'s matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_service.pgr import apgr, pgr_curve
from router_service.training.head import strong_better
from router_service.training.recipes import Recipe


@dataclass(frozen=True)
class Dataset:
    rows: np.ndarray
    strong: np.ndarray
    weak: np.ndarray
    benchmark: np.ndarray
    fold: np.ndarray  # fold 0 is the validation split

    @property
    def labels(self) -> np.ndarray:
        return strong_better(self.strong, self.weak)


def _apgr_of(data: Dataset, recipe: Recipe, train: np.ndarray, test: np.ndarray) -> float:
    head = recipe.fit(data.rows[train], data.labels[train], data.benchmark[train])
    scores = recipe.score(head, data.rows[test])
    return apgr(pgr_curve(scores, data.strong[test], data.weak[test]))


def held_out(data: Dataset, recipe: Recipe) -> dict[str, float]:
    train = data.fold != 0
    names = dict.fromkeys(data.benchmark.tolist())
    return {
        b: _apgr_of(data, recipe, train, (data.fold == 0) & (data.benchmark == b)) for b in names
    }


def cross_validated(data: Dataset, recipe: Recipe, benchmark: str, folds: int = 5) -> float:
    """APGR over the whole benchmark, each fold scored by a head trained without it (and
    without the other benchmarks' validation split)."""
    target = data.benchmark == benchmark
    scores = np.zeros(len(data.rows))
    for fold in range(folds):
        train = ~(target & (data.fold == fold)) & ~(~target & (data.fold == 0))
        head = recipe.fit(data.rows[train], data.labels[train], data.benchmark[train])
        test = target & (data.fold == fold)
        scores[test] = recipe.score(head, data.rows[test])
    return apgr(pgr_curve(scores[target], data.strong[target], data.weak[target]))


def assess(data: Dataset, recipe: Recipe) -> dict[str, dict[str, float]]:
    return {
        "held_out": held_out(data, recipe),
        "cross_validated_5fold": {"mt_bench": cross_validated(data, recipe, "mt_bench")},
    }
