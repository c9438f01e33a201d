"""A checkpoint's evaluation on a deployment's held-out labels, in a JSON file beside it.

`train --from-gateway` writes `<name>.evaluation.json` next to `<name>.npz`: the candidate's
APGR and CPT(50 %) on the held-out slice of the deployment's labels (beside random routing
and the oracle, which routes by the labels themselves), and those of the
checkpoint that was live when it trained (the baseline), scored on the same labels, so a
promotion compares two figures measured on one set. `held_out` fingerprints that set.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router_service.pgr import apgr, cpt, pgr_curve

SUFFIX = ".evaluation.json"


class EvaluationError(ValueError):
    """An evaluation file that is missing or not one `train --from-gateway` writes."""


@dataclass(frozen=True)
class Figures:
    apgr: float
    cpt50: float

    @staticmethod
    def of(scores: np.ndarray, strong: np.ndarray, weak: np.ndarray) -> Figures:
        curve = pgr_curve(scores, strong, weak)
        return Figures(apgr=round(apgr(curve), 6), cpt50=round(cpt(curve, 0.5), 6))


@dataclass(frozen=True)
class Scored:
    """A checkpoint (by file name and content hash) and its figures on the held-out labels."""

    checkpoint: str
    sha256: str
    figures: Figures


@dataclass(frozen=True)
class Evaluation:
    held_out: str  # fingerprint of the held-out labels (request, source, label)
    held_out_labels: int
    candidate: Scored
    baseline: Scored
    random: Figures
    oracle: Figures  # routing by the labels themselves: the best any router can do
    details: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def evaluation_path(checkpoint: Path) -> Path:
    return checkpoint.with_name(checkpoint.stem + SUFFIX)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprint(keys: list[tuple[str, str, float]]) -> str:
    text = "\n".join(f"{rid}\0{source}\0{label!r}" for rid, source, label in sorted(keys))
    return hashlib.sha256(text.encode()).hexdigest()


def write(evaluation: Evaluation, checkpoint: Path) -> Path:
    path = evaluation_path(checkpoint)
    path.write_text(json.dumps(evaluation.as_json(), indent=2, sort_keys=True) + "\n")
    return path


def read(checkpoint: Path) -> Evaluation:
    path = evaluation_path(checkpoint)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        return Evaluation(
            held_out=_text(record["held_out"]),
            held_out_labels=int(record["held_out_labels"]),
            candidate=_scored(record["candidate"]),
            baseline=_scored(record["baseline"]),
            random=_figures(record["random"]),
            oracle=_figures(record["oracle"]),
            details=dict(record.get("details") or {}),
        )
    except FileNotFoundError as error:
        raise EvaluationError(f"{checkpoint.name} has no evaluation ({path.name})") from error
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise EvaluationError(f"{path.name} is not a checkpoint evaluation: {error}") from error


def _scored(value: Any) -> Scored:
    return Scored(
        checkpoint=_text(value["checkpoint"]),
        sha256=_text(value["sha256"]),
        figures=_figures(value["figures"]),
    )


def _figures(value: Any) -> Figures:
    figures = Figures(apgr=float(value["apgr"]), cpt50=float(value["cpt50"]))
    for name, number in asdict(figures).items():
        if not (math.isfinite(number) and 0.0 <= number <= 1.0):
            raise ValueError(f"{name} {number} is outside [0, 1]")
    return figures


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value
