"""Transfer, measured: train on every non-empty proper subset of the benchmarks, test on each
benchmark left out, beside the two baselines that need no training (random routing and
routing by prompt length).

Real traffic is none of the benchmarks, so how a recipe does on a benchmark it never saw is
the closest this data comes to how it will do in a deployment. A recipe's transfer score is
its *worst* benchmark's mean APGR over the cells that test on it: which of these kinds of
prompts a deployment sees is unknown, so the router that ships must not fall below random
on any of them.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from router_service.figures import Figures, figures
from router_service.inputs import prompt_length
from router_service.training.assessment import Dataset
from router_service.training.recipes import Recipe


@dataclass(frozen=True)
class Cell:
    train: tuple[str, ...]
    test: str
    ours: Figures
    length: Figures
    random: Figures


def subsets(benchmarks: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every non-empty proper subset, smallest first."""
    return [s for r in range(1, len(benchmarks)) for s in itertools.combinations(benchmarks, r)]


def baselines(data: Dataset, test: str, prices: tuple[float, float]) -> tuple[Figures, Figures]:
    """Routing by prompt length (longer goes strong) and random routing's expectation (a
    constant score: every order of the prompts equally likely)."""
    where = data.benchmark == test
    strong, weak = data.strong[where], data.weak[where]
    length = figures("length", test, prompt_length(data.rows[where]), strong, weak, prices)
    random = figures("random", test, np.zeros(int(where.sum())), strong, weak, prices)
    return length, random


def transfer_matrix(
    data: Dataset, recipe: Recipe, benchmarks: tuple[str, ...], prices: tuple[float, float]
) -> list[Cell]:
    base = {test: baselines(data, test, prices) for test in benchmarks}
    cells: list[Cell] = []
    for train in subsets(benchmarks):
        seen = np.isin(data.benchmark, train)
        head = recipe.fit(data.rows[seen], data.labels[seen], data.benchmark[seen])
        for test in (b for b in benchmarks if b not in train):
            where = data.benchmark == test
            scores = recipe.score(head, data.rows[where])
            ours = figures(recipe.name, test, scores, data.strong[where], data.weak[where], prices)
            cells.append(Cell(train, test, ours, *base[test]))
    return cells


def per_test_set(cells: list[Cell]) -> dict[str, float]:
    """Mean APGR of the cells testing on each benchmark."""
    tests = dict.fromkeys(cell.test for cell in cells)
    return {t: float(np.mean([c.ours.apgr for c in cells if c.test == t])) for t in tests}


def transfer_score(cells: list[Cell]) -> float:
    return min(per_test_set(cells).values())


def matrix_table(records: list[dict[str, object]]) -> str:
    """Markdown of `as_record`'s rows: ours beside the prompt-length and random baselines."""
    lines = [
        "| trained on | tested on | APGR | length | random | CPT(50%) | length | random "
        "| saved @PGR>=0.95 | length | random |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in records:
        apgrs = " | ".join(f"{r[f'{n}_apgr']:.3f}" for n in _ROUTERS)
        cpts = " | ".join(f"{r[f'{n}_cpt50']:.1%}" for n in _ROUTERS)
        savings = " | ".join(f"{r[f'{n}_saving95']:.1%}" for n in _ROUTERS)
        train = " + ".join(str(b) for b in r["train"])  # type: ignore[attr-defined]
        lines.append(f"| {train} | {r['test']} | {apgrs} | {cpts} | {savings} |")
    return "\n".join(lines)


_ROUTERS = ("ours", "length", "random")


def as_record(cells: list[Cell]) -> list[dict[str, object]]:
    """The matrix as JSON-able rows, for the checkpoint's metadata."""
    return [
        {
            "train": list(c.train),
            "test": c.test,
            **{
                f"{name}_{figure}": round(getattr(fig, figure), 4)
                for name, fig in (("ours", c.ours), ("length", c.length), ("random", c.random))
                for figure in ("apgr", "cpt50", "saving95")
            },
        }
        for c in cells
    ]
