"""`router-service evaluate`: prints the figures, the PGR curves, and writes them as a PNG."""

from __future__ import annotations

import argparse

import torch

from router_service.config import Price, load_config
from router_service.evaluation.plot import save_plot
from router_service.evaluation.replay import evaluate, held_out, ours
from router_service.evaluation.report import curve_points, table
from router_service.router import MiniLMRouter
from router_service.training.data import BENCHMARKS, default_data_dir

# Industry-standard blend: three input tokens to one output token.
_INPUT_SHARE = 0.75


def blended(price: Price) -> float:
    return _INPUT_SHARE * price.input + (1 - _INPUT_SHARE) * price.output


def run_evaluation(arguments: argparse.Namespace) -> None:
    prices = load_config(arguments.config).prices
    for model in (arguments.strong_model, arguments.weak_model):
        if model not in prices:
            raise SystemExit(f"no price for {model} in {arguments.config}")
    pair = (blended(prices[arguments.strong_model]), blended(prices[arguments.weak_model]))
    # The service's setting: one thread per forward pass (see ServiceConfig.torch_threads).
    torch.set_num_threads(1)
    router = MiniLMRouter(checkpoint_path=arguments.checkpoint)
    wanted = tuple(name.strip() for name in arguments.benchmarks.split(",") if name.strip())
    unknown = set(wanted) - set(BENCHMARKS)
    if unknown:
        raise SystemExit(f"unknown benchmarks {sorted(unknown)}; known: {list(BENCHMARKS)}")
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
