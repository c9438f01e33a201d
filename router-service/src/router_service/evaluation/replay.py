"""The evaluation command: replay each benchmark's held-out questions through our router,
routing by prompt length and RouteLLM's random router, and report the paper's metrics on the
stored outcomes."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import numpy as np

from router_service.features import LENGTH_FEATURE, cheap_features
from router_service.figures import Figures, figures, mean_figures
from router_service.routellm_bridge import routellm_routers
from router_service.scorer import MiniLMScorer
from router_service.training.data import BENCHMARKS, Item, load_items
from router_service.training.split import is_validation

Scorer = Callable[[list[Item]], np.ndarray]


def held_out(data_dir: Path, benchmarks: tuple[str, ...] = BENCHMARKS) -> dict[str, list[Item]]:
    items = [item for item in load_items(data_dir, benchmarks) if is_validation(item)]
    return {name: [i for i in items if i.benchmark == name] for name in benchmarks}


def ours(router: MiniLMScorer) -> Scorer:
    return lambda items: router.batch_strong_win_rates([list(i.messages) for i in items])


def by_prompt_length(items: list[Item]) -> np.ndarray:
    """The prompt-length baseline: longer conversations go to the strong model."""
    return np.array([cheap_features(i.messages)[LENGTH_FEATURE] for i in items])


def random_runs(items: list[Item], seeds: int) -> list[np.ndarray]:
    """RouteLLM's RandomRouter, seeded: it draws from the `random` module."""
    baseline = routellm_routers().ROUTER_CLS["random"]()
    runs = []
    for seed in range(seeds):
        random.seed(seed)
        runs.append(np.array([baseline.calculate_strong_win_rate(i) for i in items]))
    return runs


def evaluate(
    splits: dict[str, list[Item]],
    score: Scorer,
    prices: tuple[float, float],
    random_seeds: int = 200,
) -> list[Figures]:
    rows: list[Figures] = []
    for benchmark, items in splits.items():
        strong = np.array([i.strong for i in items])
        weak = np.array([i.weak for i in items])
        rows.append(figures("ours", benchmark, score(items), strong, weak, prices))
        rows.append(figures("length", benchmark, by_prompt_length(items), strong, weak, prices))
        runs = [
            figures("random", benchmark, scores, strong, weak, prices)
            for scores in random_runs(items, random_seeds)
        ]
        rows.append(mean_figures(runs))
    return rows
