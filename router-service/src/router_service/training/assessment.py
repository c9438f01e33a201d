"""How well a head trained one way routes questions it never saw.

Three views, because each alone misleads: the held-out fifth of every benchmark; MT-Bench by
5-fold cross-validation (its held-out fifth is about 14 questions, too few to trust); and across
benchmarks (train on two, test on the third), the closest this data comes to real traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router_service.pgr import apgr, pgr_curve
from router_service.training.data import BENCHMARKS
from router_service.training.head import fit_head, strong_better


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


def _apgr_of(data: Dataset, train: np.ndarray, test: np.ndarray) -> float:
    head = fit_head(data.rows[train], data.labels[train])
    scores = head.score(data.rows[test])
    return apgr(pgr_curve(scores, data.strong[test], data.weak[test]))


def held_out(data: Dataset) -> dict[str, float]:
    train = data.fold != 0
    return {b: _apgr_of(data, train, (data.fold == 0) & (data.benchmark == b)) for b in BENCHMARKS}


def cross_validated(data: Dataset, benchmark: str, folds: int = 5) -> float:
    """APGR over the whole benchmark, each fold scored by a head trained without it (and
    without the other benchmarks' validation split)."""
    target = data.benchmark == benchmark
    scores = np.zeros(len(data.rows))
    for fold in range(folds):
        train = ~(target & (data.fold == fold)) & ~(~target & (data.fold == 0))
        head = fit_head(data.rows[train], data.labels[train])
        test = target & (data.fold == fold)
        scores[test] = head.score(data.rows[test])
    return apgr(pgr_curve(scores[target], data.strong[target], data.weak[target]))


def cross_benchmark(data: Dataset) -> dict[str, float]:
    return {b: _apgr_of(data, data.benchmark != b, data.benchmark == b) for b in BENCHMARKS}


def assess(data: Dataset) -> dict[str, dict[str, float]]:
    return {
        "held_out": held_out(data),
        "cross_validated_5fold": {"mt_bench": cross_validated(data, "mt_bench")},
        "cross_benchmark": cross_benchmark(data),
    }
