"""The RouteLLM paper's metrics (arXiv 2406.18665), shared by training and evaluation.

Sweep the threshold: for each share of calls sent to the strong model, quality is the mean
outcome of the model each prompt was routed to, and PGR = (quality - weak) / (strong - weak).
APGR is the area under PGR over the strong share in [0, 1]; CPT(x) the smallest strong share
whose PGR reaches x. A threshold cannot split prompts of equal score, so inside a run of equal
scores the curve is the expectation over their order (a constant router scores exactly 0.5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PgrCurve:
    """PGR after routing the k highest-scored prompts to the strong model, k = 0..n."""

    strong_share: np.ndarray
    pgr: np.ndarray


def pgr_curve(scores: np.ndarray, strong: np.ndarray, weak: np.ndarray) -> PgrCurve:
    order = np.argsort(-scores, kind="stable")
    gains = (strong - weak)[order].astype(np.float64)
    total = gains.sum()
    if total == 0:
        raise ValueError("the strong and the weak model score the same: PGR is undefined")
    cumulative = np.concatenate([[0.0], np.cumsum(gains)])
    cumulative = _average_ties(cumulative, scores[order])
    n = len(gains)
    return PgrCurve(strong_share=np.arange(n + 1) / n, pgr=cumulative / total)


def _average_ties(cumulative: np.ndarray, sorted_scores: np.ndarray) -> np.ndarray:
    """Interpolate the cumulative gain linearly across each run of equal scores."""
    out = cumulative.copy()
    boundaries = np.flatnonzero(np.diff(sorted_scores)) + 1
    starts = np.concatenate([[0], boundaries])
    ends = np.concatenate([boundaries, [len(sorted_scores)]])
    for start, end in zip(starts, ends, strict=True):
        if end - start > 1:
            out[start : end + 1] = np.linspace(cumulative[start], cumulative[end], end - start + 1)
    return out


def apgr(curve: PgrCurve) -> float:
    """Area under the PGR curve (trapezoids over the strong share)."""
    widths = np.diff(curve.strong_share)
    return float(np.sum(widths * (curve.pgr[1:] + curve.pgr[:-1]) / 2))


def cpt(curve: PgrCurve, level: float) -> float:
    """Smallest strong share whose PGR reaches `level` (1.0 when none does before the end)."""
    reached = np.flatnonzero(curve.pgr >= level - 1e-12)
    return float(curve.strong_share[reached[0]]) if len(reached) else 1.0


def cost_saving(strong_share: float, strong_price: float, weak_price: float) -> float:
    """Share of the always-strong bill saved when `strong_share` of the calls go strong.

    Prices are per token (any unit, the same for both): a routed call has the same tokens
    whichever model answers it, so the bill is proportional to the blended price.
    """
    blended = strong_share * strong_price + (1 - strong_share) * weak_price
    return 1.0 - blended / strong_price
