"""`router-service evaluate`: prints the figures, the PGR curves, and writes them as a PNG;
with `--transfer`, the transfer matrix of every candidate recipe instead."""

from __future__ import annotations

import argparse

import torch

from router_service.config import load_config
from router_service.evaluation.plot import save_plot
from router_service.evaluation.replay import evaluate, held_out, ours
from router_service.evaluation.report import curve_points, table
from router_service.router import MiniLMRouter
from router_service.training.data import BENCHMARKS, default_data_dir


def run_evaluation(arguments: argparse.Namespace) -> None:
    wanted = benchmarks(arguments.benchmarks)
    if arguments.transfer:
        _print_transfer(arguments, wanted)
        return
    prices = load_config(arguments.config).prices
    for model in (arguments.strong_model, arguments.weak_model):
        if model not in prices:
            raise SystemExit(f"no price for {model} in {arguments.config}")
    pair = (prices[arguments.strong_model].blended, prices[arguments.weak_model].blended)
    # The service's setting: one thread per forward pass (see ServiceConfig.torch_threads).
    torch.set_num_threads(1)
    router = MiniLMRouter(checkpoint_path=arguments.checkpoint)
    splits = held_out(arguments.data_dir or default_data_dir(), wanted)
    rows = evaluate(splits, ours(router), pair, arguments.random_seeds)
    print(
        f"held-out questions (split by question, contaminated prompts excluded); prices "
        f"{arguments.strong_model} ${pair[0]:.2f} vs {arguments.weak_model} ${pair[1]:.2f} "
        "per 1M tokens (3:1 input:output)"
    )
    print(table(rows))
    print()
    for row in rows:
        print(curve_points(row))
    save_plot(rows, arguments.plot)
    print(f"\nPGR curves written to {arguments.plot}")


def benchmarks(names: str) -> tuple[str, ...]:
    wanted = tuple(name.strip() for name in names.split(",") if name.strip())
    unknown = set(wanted) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmarks {sorted(unknown)}; known: {list(BENCHMARKS)}")
    return wanted


def _print_transfer(arguments: argparse.Namespace, benchmarks: tuple[str, ...]) -> None:
    """Trains each candidate on every proper subset of `benchmarks`, tests on the rest."""
    from router_service.training.train import offline_dataset, transfer_matrices
    from router_service.training.transfer import (
        as_record,
        matrix_table,
        per_test_set,
        transfer_score,
    )

    if len(benchmarks) < 2:
        raise SystemExit("--transfer needs at least two benchmarks")
    _, data = offline_dataset(arguments.data_dir, arguments.cache, benchmarks)
    for name, cells in transfer_matrices(data, benchmarks).items():
        per = ", ".join(f"{k} {v:.3f}" for k, v in per_test_set(cells).items())
        print(f"## {name}: transfer score {transfer_score(cells):.3f} ({per})\n")
        print(matrix_table(as_record(cells)))
        print()
