"""From a wanted share of strong calls to a score threshold, and the scores to do it with.

A threshold t sends a call to the stronger model when its score >= t, so the share of strong
calls is the share of scores at or above t: t is the (1 - share) quantile of the score
distribution. The distribution is the one shipped with the checkpoint until the gateway's own
traffic has been seen; the admin call recomputes it from a group's recent scores.
"""

from __future__ import annotations

import threading
from collections import deque

import numpy as np

QUANTILE_POINTS = 1001


def quantiles(scores: np.ndarray) -> np.ndarray:
    """A compact description of a score distribution: its quantiles at 0, 0.001, …, 1."""
    return np.quantile(np.asarray(scores, dtype=np.float64), np.linspace(0, 1, QUANTILE_POINTS))


def threshold_for_share(score_quantiles: np.ndarray, share: float) -> float:
    """The threshold that sends `share` of calls drawn from this distribution to the stronger
    model. Share 0 gives a threshold above every score seen, share 1 gives 0."""
    if share <= 0.0:
        return float(min(1.0, np.nextafter(score_quantiles[-1], np.inf)))
    if share >= 1.0:
        return 0.0
    levels = np.linspace(0, 1, len(score_quantiles))
    return float(np.interp(1.0 - share, levels, score_quantiles))


class ScoreHistory:
    """The most recent scores of each auto group, for recalibration (bounded memory).

    Kept per group, not per router: groups see different traffic (a coding group, a chat
    group), and a share is a promise about the traffic of one group."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._scores: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def add(self, group: str, score: float) -> None:
        with self._lock:
            self._scores.setdefault(group, deque(maxlen=self._size)).append(score)

    def snapshot(self, group: str) -> np.ndarray:
        with self._lock:
            return np.array(self._scores.get(group, ()), dtype=np.float64)
