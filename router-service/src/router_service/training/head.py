"""The scoring head: L2-regularised logistic regression on the input rows.

Chosen by measurement (see MODEL_CARD.md): against ridge regression on the outcome gain, a
three-class logistic regression and a one-hidden-layer MLP, on MiniLM embeddings alone,
the cheap features alone, and both, it was the only one at or above the bars on all three
benchmarks. The label is "the strong model did strictly better than the weak one", which for
MT-Bench means a higher GPT-4 grade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression

# Inverse regularisation strength; picked among 0.03 / 0.1 / 0.3 / 1 on the validation split.
REGULARISATION_C = 0.3


@dataclass(frozen=True)
class Head:
    weight: np.ndarray  # (inputs, 1)
    bias: np.ndarray  # (1,)

    def score(self, rows: np.ndarray) -> np.ndarray:
        logits = rows @ self.weight[:, 0] + self.bias[0]
        return 1.0 / (1.0 + np.exp(-logits))


def strong_better(strong: np.ndarray, weak: np.ndarray) -> np.ndarray:
    return (strong > weak).astype(np.int64)


def fit_head(rows: np.ndarray, labels: np.ndarray, c: float = REGULARISATION_C) -> Head:
    model = LogisticRegression(C=c, max_iter=5000)
    model.fit(rows, labels)
    return Head(weight=model.coef_.T.astype(np.float32), bias=model.intercept_.astype(np.float32))
