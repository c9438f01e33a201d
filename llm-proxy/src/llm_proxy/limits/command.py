"""`llm-proxy limits rebuild`: budget counters back from the request log after a Redis loss."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from llm_proxy.config import ConfigError, load_config
from llm_proxy.limits.counters import StoreUnavailable
from llm_proxy.limits.rebuild import NoCounterStore, Rebuilt, rebuild_from_config


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    limits = commands.add_parser("limits", help="maintain the rate-limit and budget counters")
    actions = limits.add_subparsers(dest="limits_command", required=True)
    rebuild = actions.add_parser(
        "rebuild", help="rebuild today's and this month's budget counters from the request log"
    )
    rebuild.add_argument("--config", required=True, type=Path, help="gateway.yaml")


def run(args: argparse.Namespace) -> None:
    try:
        rebuilt = asyncio.run(rebuild_from_config(load_config(args.config)))
    except (ConfigError, NoCounterStore) as exc:
        sys.exit(str(exc))
    except SQLAlchemyError as exc:
        sys.exit(f"cannot read the request log: {exc.__class__.__name__}: {exc}")
    except StoreUnavailable as exc:
        sys.exit(f"cannot write the counters: {exc}")
    for line in describe(rebuilt):
        print(line)


def describe(rebuilt: list[Rebuilt]) -> list[str]:
    return [
        f"{r.scope}: {r.budgeted} with a budget, {r.raised} counters rebuilt, "
        f"{r.kept} kept (already as high)"
        for r in rebuilt
    ]
