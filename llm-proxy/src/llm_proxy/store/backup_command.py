"""`llm-proxy backup create [--with-logs] > FILE` and `llm-proxy backup restore FILE [--force]`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from llm_proxy.config import ConfigError, load_config
from llm_proxy.config.models import Database as DatabaseSettings
from llm_proxy.store import backup
from llm_proxy.store.database import Database


def add_subcommands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("backup", help="back up or restore the control plane")
    actions = parser.add_subparsers(dest="backup_command", required=True)
    make = actions.add_parser("create", help="write a backup to stdout")
    make.add_argument("--with-logs", action="store_true", help="include the request log")
    load = actions.add_parser("restore", help="load a backup into an empty database")
    load.add_argument("file", type=Path)
    load.add_argument("--force", action="store_true", help="replace what the database holds")
    for action in (make, load):
        action.add_argument("--config", type=Path, help="gateway.yaml (default: embedded SQLite)")


def run(args: argparse.Namespace) -> None:
    try:
        url = load_config(args.config).database.url if args.config else DatabaseSettings().url
        counts = asyncio.run(_run(args, url))
    except (ConfigError, backup.BackupError) as exc:
        sys.exit(str(exc))
    except OSError as exc:
        sys.exit(f"cannot read {args.file}: {exc.strerror}")
    except SQLAlchemyError as exc:
        sys.exit(f"database error: {exc.__class__.__name__}: {exc}")
    total = sum(counts.values())
    verb = "backed up" if args.backup_command == "create" else "restored"
    detail = ", ".join(f"{name} {n}" for name, n in counts.items() if n)
    print(f"{verb} {total} rows ({detail or 'nothing'})", file=sys.stderr)


async def _run(args: argparse.Namespace, url: str) -> dict[str, int]:
    database = Database(url)
    try:
        if args.backup_command == "create":
            counts = await backup.create(database, sys.stdout.buffer, args.with_logs)
            sys.stdout.buffer.flush()
            return counts
        with args.file.open("rb") as source:
            return await backup.restore(database, source, args.force)
    finally:
        await database.close()
