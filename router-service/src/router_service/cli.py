"""`router-service serve | train | evaluate` (also `python -m router_service`).

Each subcommand imports what it needs only when chosen: `serve` must start fast, and `train`
and `evaluate` need the data of ../shared that a deployed service never has.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from router_service.config import DEFAULT_CONFIG


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="router-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _serve_arguments(commands.add_parser("serve", help="run the HTTP service"))
    _train_arguments(commands.add_parser("train", help="train our router, write the checkpoint"))
    _evaluate_arguments(commands.add_parser("evaluate", help="replay held-out outcomes"))
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    arguments.run(arguments)


def _data_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="default: ../shared/data/routing"
    )


def _serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--log-level", default="info")
    parser.set_defaults(run=_serve)


def _serve(arguments: argparse.Namespace) -> None:
    import uvicorn

    from router_service.app import build_app

    app = build_app(arguments.config)
    uvicorn.run(app, host=arguments.host, port=arguments.port, log_level=arguments.log_level)


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    from router_service.checkpoint import DEFAULT_PATH

    _data_dir_argument(parser)
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH)
    _cache_argument(parser)
    _benchmarks_argument(parser)
    parser.set_defaults(run=_train)


def _cache_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cache", type=Path, default=None, help="reuse/store the embeddings of the data here"
    )


def _benchmarks_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--benchmarks",
        default="mmlu,gsm8k,mt_bench,alpaca_eval",
        help="comma-separated subset of the offline data",
    )


def _train(arguments: argparse.Namespace) -> None:
    from router_service.evaluation.command import benchmarks
    from router_service.training.train import train

    train(arguments.data_dir, arguments.out, arguments.cache, benchmarks(arguments.benchmarks))


def _evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from router_service.checkpoint import DEFAULT_PATH

    _data_dir_argument(parser)
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="for the prices")
    parser.add_argument("--strong-model", default="gpt-4-1106-preview")
    parser.add_argument("--weak-model", default="mistralai/Mixtral-8x7B-Instruct-v0.1")
    parser.add_argument("--plot", type=Path, default=Path("pgr_curves.png"))
    parser.add_argument("--random-seeds", type=int, default=200)
    _benchmarks_argument(parser)
    parser.add_argument(
        "--transfer",
        action="store_true",
        help="train every candidate on each proper subset of the benchmarks, test on the rest",
    )
    _cache_argument(parser)
    parser.set_defaults(run=_evaluate)


def _evaluate(arguments: argparse.Namespace) -> None:
    from router_service.evaluation.command import run_evaluation

    run_evaluation(arguments)
