"""`router-service train --from-gateway DATABASE_URL`: fit our router's head on the
deployment's own route labels together with the offline data, and measure it on the
deployment's held-out labels beside the checkpoint that is live now.

The recipe is the shipped one (logistic regression on the MiniLM embedding, fitted within
benchmarks: the deployment's labels are one more "benchmark", `gateway`). Its labels weigh
`gateway_weight` of the fit however few they are against the offline items. Four in five
labels train, the fifth (by request id, see `gateway_labels.py`) is held out; the evaluation
(`checkpoint_evaluation.py`) is written beside the checkpoint, and promotion reads it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router_service import checkpoint as checkpoint_io
from router_service import checkpoint_evaluation as evaluation_io
from router_service.calibration import quantiles
from router_service.checkpoint_evaluation import Evaluation, Figures, Scored
from router_service.embedding import MiniLMEncoder
from router_service.inputs import columns_of, input_width
from router_service.live_checkpoint import SHIPPED, live_path
from router_service.scorer import MiniLMScorer
from router_service.training.assessment import Dataset
from router_service.training.data import Item
from router_service.training.gateway_labels import BENCHMARK, GatewayLabel, read_labels
from router_service.training.recipes import CANDIDATES, Recipe
from router_service.training.train import dataset, embed, fit_checkpoint, offline_dataset

log = logging.getLogger(__name__)

# Fewer held-out labels than this measure nothing worth promoting on.
MIN_HELD_OUT = 5
# With this many training labels the deployment's own scores set the shipped distribution
# (for target_strong_share); with fewer, the offline mix does.
MIN_TRAFFIC_SCORES = 200
QUALITY = "strong = strong_wins, weak = min(strong_wins, 1 - strong_wins)"


class TrainingError(Exception):
    """The labels cannot train or measure a router (too few, none favouring strong, …)."""


@dataclass(frozen=True)
class GatewayTraining:
    database_url: str
    out: Path
    data_dir: Path | None = None
    cache: Path | None = None
    benchmarks: tuple[str, ...] = ()
    auto_group: str | None = None
    gateway_weight: float = 0.5
    baseline: Path | None = None


def train_from_gateway(job: GatewayTraining) -> Evaluation:
    if not 0.0 <= job.gateway_weight < 1.0:
        raise TrainingError(f"gateway weight {job.gateway_weight} is not in [0, 1)")
    labels = read_labels(job.database_url, job.auto_group)
    held = [label for label in labels if label.held_out]
    trained = [label for label in labels if not label.held_out]
    _check(labels, held, trained, job.auto_group)
    baseline = job.baseline or live_path(job.out.parent)
    recipe = shipped_recipe()
    items, rows = _offline(job)
    ours = [label.item() for label in trained]
    data = dataset(items + ours, np.vstack([rows, embed([list(i.messages) for i in ours])]))
    details = _details(labels, trained, items, recipe, job)
    weights = _weights(len(items), len(ours), job.gateway_weight)
    try:
        fitted = fit_checkpoint(recipe, data, np.ones(len(data.rows), bool), details, weights)
    except ValueError as error:  # scikit-learn: one class only, and the like
        raise TrainingError(f"cannot fit the head: {error}") from error
    checkpoint_io.save(_deployment_quantiles(fitted, data, recipe), job.out)
    evaluation = _evaluate(job.out, baseline, held, details)
    evaluation_io.write(evaluation, job.out)
    log.info("wrote %s and its evaluation: %s", job.out, evaluation.as_json())
    return evaluation


def shipped_recipe() -> Recipe:
    """The recipe of the shipped checkpoint (the one `train` chose on transfer)."""
    name = checkpoint_io.load().metadata.get("recipe")
    return next((r for r in CANDIDATES if r.name == name), CANDIDATES[2])


def _offline(job: GatewayTraining) -> tuple[list[Item], np.ndarray]:
    if not job.benchmarks:
        return [], np.empty((0, input_width("embedding+features")), dtype=np.float32)
    items, data = offline_dataset(job.data_dir, job.cache, job.benchmarks)
    return items, data.rows


def _check(
    labels: list[GatewayLabel],
    held: list[GatewayLabel],
    trained: list[GatewayLabel],
    auto_group: str | None,
) -> None:
    where = f" of auto group {auto_group!r}" if auto_group else ""
    if not trained or len(held) < MIN_HELD_OUT:
        raise TrainingError(
            f"{len(labels)} route labels{where}: {len(trained)} to train and {len(held)} held "
            f"out; at least one and {MIN_HELD_OUT} are needed"
        )
    if not any(label.strong_wins > 0.5 for label in held):
        raise TrainingError(
            f"none of the {len(held)} held-out labels{where} favours the strong model: "
            "there is nothing for a router to gain on them (PGR is undefined)"
        )


def _weights(offline: int, ours: int, share: float) -> np.ndarray:
    """Offline items weigh 1 each; the deployment's labels together `share` of the whole."""
    each = share / (1.0 - share) * offline / ours if offline else 1.0
    return np.concatenate([np.ones(offline), np.full(ours, each)])


def _deployment_quantiles(
    fitted: checkpoint_io.Checkpoint, data: Dataset, recipe: Recipe
) -> checkpoint_io.Checkpoint:
    ours = data.benchmark == BENCHMARK
    if ours.sum() < MIN_TRAFFIC_SCORES:
        return fitted
    rows = columns_of(data.rows[ours], recipe.inputs)
    return dataclasses.replace(fitted, score_quantiles=quantiles(fitted.score(rows)))


def _evaluate(
    candidate: Path, baseline: Path, held: list[GatewayLabel], details: dict[str, Any]
) -> Evaluation:
    items = [label.item() for label in held]
    strong = np.array([i.strong for i in items])
    weak = np.array([i.weak for i in items])
    encoder = MiniLMEncoder.from_package()
    conversations = [list(item.messages) for item in items]

    def scored(path: Path, name: str) -> Scored:
        scores = MiniLMScorer(path, encoder).batch_strong_win_rates(conversations)
        sha = evaluation_io.sha256_of(path)
        return Scored(checkpoint=name, sha256=sha, figures=Figures.of(scores, strong, weak))

    shipped = baseline == checkpoint_io.DEFAULT_PATH
    return Evaluation(
        held_out=evaluation_io.fingerprint([(x.request_id, x.source, x.strong_wins) for x in held]),
        held_out_labels=len(held),
        candidate=scored(candidate, candidate.name),
        baseline=scored(baseline, SHIPPED if shipped else baseline.name),
        random=Figures.of(np.zeros(len(items)), strong, weak),
        oracle=Figures.of(strong - weak, strong, weak),
        details=details,
    )


def _details(
    labels: list[GatewayLabel],
    trained: list[GatewayLabel],
    items: list[Item],
    recipe: Recipe,
    job: GatewayTraining,
) -> dict[str, Any]:
    return {
        "router": "minilm",
        "recipe": recipe.name,
        "head": recipe.describe() + f"; the deployment's labels are the {BENCHMARK!r} group",
        "inputs": recipe.inputs,
        "auto_group": job.auto_group,
        "labels": len(labels),
        "train_labels": len(trained),
        "sources": dict(Counter(label.source for label in labels)),
        "gateway_weight": job.gateway_weight,
        "offline_items": dict(Counter(item.benchmark for item in items)),
        "split": "blake2b(request_id) mod 5 == 0 is held out",
        "quality": QUALITY,
    }
