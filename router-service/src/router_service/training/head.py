"""The scoring head: L2-regularised logistic regression on the input rows.

Chosen by measurement (see MODEL_CARD.md): against ridge regression on the outcome gain, a
three-class logistic regression and a one-hidden-layer MLP it was the only one at or above the
bars on every benchmark. The label is "the strong model did strictly better than the weak
one" (for MT-Bench a higher GPT-4 grade, for AlpacaEval a judges' preference above one half).

Fitted *within benchmarks* when the groups are given: each benchmark gets an indicator input
of its own during the fit, so the weights learn what separates hard from easy prompts inside
a benchmark, not which benchmark a prompt comes from (GSM8K's base rate of strong wins is not
MT-Bench's, and a router that learns that has learnt a topic). The indicators are dropped
afterwards: they only move scores of a whole benchmark up or down, which no threshold inside
one kind of traffic can use; the bias keeps their mean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

# Inverse regularisation strength; picked among 0.03 / 0.1 / 0.3 / 1 on the validation split.
REGULARISATION_C = 0.3
# The indicators' scale: large, so that the L2 penalty hardly restrains a benchmark's offset.
_INDICATOR_SCALE = 3.0


@dataclass(frozen=True)
class Head:
    weight: np.ndarray  # (inputs, 1)
    bias: np.ndarray  # (1,)

    def score(self, rows: np.ndarray) -> np.ndarray:
        logits = rows @ self.weight[:, 0] + self.bias[0]
        return 1.0 / (1.0 + np.exp(-logits))


def strong_better(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    return (strong > weak).astype(np.int64)


def fit_head(
    rows: np.ndarray,
    labels: np.ndarray,
    c: float = REGULARISATION_C,
    groups: np.ndarray | None = None,
    sample_weight: np.ndarray | None = None,
) -> Head:
    """Pooled over all rows, or within each group of `groups` (one label per row)."""
    names = sorted(set(groups.tolist())) if groups is not None else []
    inputs = rows
    if groups is not None and len(names) > 1:
        indicators = (groups[:, None] == np.array(names)[None, :]).astype(rows.dtype)
        inputs = np.hstack([rows, indicators * _INDICATOR_SCALE])
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(inputs, labels, sample_weight=sample_weight)
    coefficients = model.coef_[0]
    offsets = coefficients[rows.shape[1] :] * _INDICATOR_SCALE
    bias = model.intercept_ + (offsets.mean() if len(offsets) else 0.0)
    return Head(
        weight=coefficients[: rows.shape[1], None].astype(np.float32),
        bias=np.asarray(bias, dtype=np.float32).reshape(1),
    )
