"""`llm-proxy kong render | sync`: the key table into Kong."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy.exc import SQLAlchemyError

from llm_proxy.config import ConfigError, load_config
from llm_proxy.kong.admin import KongAdminError, SyncReport
from llm_proxy.kong.consumers import KongConsumer
from llm_proxy.kong.declarative import KongConfigError, load_base, render, to_yaml
from llm_proxy.kong.key_table import usable_consumers
from llm_proxy.kong.sync import sync_keys
from llm_proxy.store.database import Database

DEFAULT_BASE = Path("kong/kong.yaml")


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kong = commands.add_parser("kong", help="render or push the Kong edge's config")
    actions = kong.add_subparsers(dest="kong_command", required=True)
    render_parser = actions.add_parser(
        "render", help="print kong.yaml with a consumer per usable virtual key"
    )
    sync_parser = actions.add_parser(
        "sync", help="push the virtual keys to Kong: POST /config (DB-less) or consumers (DB)"
    )
    for parser in (render_parser, sync_parser):
        parser.add_argument("--config", required=True, type=Path, help="gateway.yaml")
        parser.add_argument("--base", type=Path, default=DEFAULT_BASE, help="the base kong.yaml")
    render_parser.add_argument("--output", type=Path, help="write here instead of stdout")
    sync_parser.add_argument(
        "--admin-url", default=os.environ.get("KONG_ADMIN_URL", "http://127.0.0.1:8001")
    )
    sync_parser.add_argument("--mode", choices=["auto", "dbless", "db"], default="auto")
    sync_parser.add_argument("--timeout", type=float, default=30.0)


def run(args: argparse.Namespace) -> None:
    try:
        if args.kong_command == "render":
            text = to_yaml(render(load_base(args.base), _consumers(args.config)))
            if args.output is None:
                sys.stdout.write(text)
            else:
                args.output.write_text(text)
        else:
            print(asyncio.run(_sync(args)).describe())
    except (ConfigError, KongConfigError, KongAdminError) as exc:
        sys.exit(str(exc))
    except SQLAlchemyError as exc:
        sys.exit(f"cannot read the key table: {exc.__class__.__name__}: {exc}")
    except httpx.HTTPError as exc:
        sys.exit(f"cannot reach Kong's Admin API at {getattr(args, 'admin_url', '')}: {exc}")


def _consumers(config_path: Path) -> list[KongConsumer]:
    return asyncio.run(_read_consumers(config_path))


async def _read_consumers(config_path: Path) -> list[KongConsumer]:
    database = Database(load_config(config_path).database.url)
    try:
        return await usable_consumers(database, datetime.now(UTC))
    finally:
        await database.close()


async def _sync(args: argparse.Namespace) -> SyncReport:
    database = Database(load_config(args.config).database.url)
    try:
        return await sync_keys(database, args.admin_url, args.base, args.mode, args.timeout)
    finally:
        await database.close()
