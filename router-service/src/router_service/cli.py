"""`router-service serve | train | evaluate | promote` (also `python -m router_service`).

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
    _promote_arguments(
        commands.add_parser("promote", help="make a checkpoint live if it beats the live one")
    )
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
    parser.add_argument(
        "--from-gateway",
        metavar="DATABASE_URL",
        default=None,
        help="also fit on the gateway's route labels; evaluate on their held-out fifth",
    )
    parser.add_argument("--auto-group", default=None, help="only this auto group's labels")
    parser.add_argument(
        "--gateway-weight",
        type=float,
        default=0.5,
        help="the deployment's labels' share of the fit, in [0, 1) (default 0.5)",
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        default=None,
        help="the checkpoint to measure against (default: the live one of --out's directory)",
    )
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

    wanted = benchmarks(arguments.benchmarks)
    if arguments.from_gateway is not None:
        _train_from_gateway(arguments, wanted)
        return
    train(arguments.data_dir, arguments.out, arguments.cache, wanted)


def _train_from_gateway(arguments: argparse.Namespace, wanted: tuple[str, ...]) -> None:
    import json

    from router_service.checkpoint import DEFAULT_PATH
    from router_service.training.from_gateway import (
        GatewayTraining,
        TrainingError,
        train_from_gateway,
    )
    from router_service.training.gateway_labels import LabelsError

    if arguments.out.resolve() == DEFAULT_PATH.resolve():
        raise SystemExit("train --from-gateway: give --out in the service's checkpoints_dir")
    job = GatewayTraining(
        database_url=arguments.from_gateway,
        out=arguments.out,
        data_dir=arguments.data_dir,
        cache=arguments.cache,
        benchmarks=wanted,
        auto_group=arguments.auto_group,
        gateway_weight=arguments.gateway_weight,
        baseline=arguments.baseline,
    )
    try:
        evaluation = train_from_gateway(job)
    except (TrainingError, LabelsError) as error:
        raise SystemExit(f"train --from-gateway: {error}") from error
    print(json.dumps(evaluation.as_json(), indent=2, sort_keys=True))


def _promote_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "checkpoint", type=Path, help="a checkpoint of the checkpoints directory, evaluated"
    )
    parser.set_defaults(run=_promote)


def _promote(arguments: argparse.Namespace) -> None:
    """Decides as POST /admin/router/promote does and records the winner in its directory's
    live.json, which the running replicas follow."""
    import json
    import sys

    from router_service.checkpoint_evaluation import sha256_of
    from router_service.live_checkpoint import live_path
    from router_service.promotion import PromotionError, promote

    directory: Path = arguments.checkpoint.parent
    try:
        decision = promote(directory, arguments.checkpoint.name, sha256_of(live_path(directory)))
    except PromotionError as error:
        print(json.dumps({"promoted": False, "reason": str(error), **error.figures}, indent=2))
        sys.exit(1 if error.status == 409 else 2)
    print(json.dumps(decision.as_json(), indent=2))


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
