"""A key table to render from (SQLite, or a Postgres database of this session's own),
and `llm-proxy kong …` run as the operator runs it."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_proxy import cli
from llm_proxy.store.credentials import KEY_PREFIX, issue
from llm_proxy.store.database import Database
from llm_proxy.store.models import VirtualKey
from sqlalchemy import delete

from tests.kong.admin_peer import AdminPeer
from tests.support.databases import scratch_database

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "kong" / "kong.yaml"


@dataclass
class KeyTable:
    """The key table of one test, and a gateway.yaml pointing at it."""

    database: Database
    config_path: Path

    async def add(self, **fields: Any) -> tuple[str, str]:
        """A virtual key as the store keeps it; returns (key id, the plaintext key)."""
        secret = issue(KEY_PREFIX)
        key_id = f"key_{uuid.uuid4().hex[:20]}"
        row = VirtualKey(
            id=key_id, key_hash=secret.hash, key_prefix=secret.display_prefix, **fields
        )
        async with self.database.session() as session:
            session.add(row)
            await session.commit()
        return key_id, secret.plaintext

    async def update(self, key_id: str, **fields: Any) -> None:
        async with self.database.session() as session:
            row = await session.get(VirtualKey, key_id)
            assert row is not None
            for name, value in fields.items():
                setattr(row, name, value)
            await session.commit()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test session's own, dropped at the end."""
    with scratch_database("kong") as url:
        yield url


@pytest.fixture
async def key_table(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[KeyTable]:
    """SQLite (the embedded default); `parametrize("key_table", ["postgres"], indirect=True)`
    for Postgres."""
    if getattr(request, "param", "sqlite") == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    database = Database(url)
    await database.upgrade()
    async with database.session() as session:
        # One session database is shared by the Postgres tests: start each from no keys.
        await session.execute(delete(VirtualKey))
        await session.commit()
    config_path = tmp_path / "gateway.yaml"
    config = {
        "database": {"url": url},
        "backends": [
            {
                "name": "sim",
                "provider": "simulator",
                "endpoint": "http://127.0.0.1:9/v1",
                "model": "m",
            }
        ],
    }
    config_path.write_text(yaml.safe_dump(config))
    yield KeyTable(database, config_path)
    await database.close()


@pytest.fixture
def admin_peer() -> Iterator[AdminPeer]:
    peer = AdminPeer()
    yield peer
    peer.stop()


def kong_process(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """`llm-proxy kong …` in a process of its own, as an operator or a cron job runs it."""
    command = [sys.executable, "-m", "llm_proxy", "kong", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=REPO)


@dataclass
class Outcome:
    code: int
    out: str
    err: str


async def kong_command(*args: str | Path) -> Outcome:
    """The same command line through `llm_proxy.cli.main` in this process (a process start
    costs seconds on a loaded machine), on a thread of its own since it runs its own loop."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                cli.main(["kong", *map(str, args)])
            except SystemExit as exc:
                if isinstance(exc.code, str):
                    err.write(exc.code)
                    return 1
                return exc.code or 0
        return 0

    code = await asyncio.to_thread(call)
    return Outcome(code, out.getvalue(), err.getvalue())


async def render(table: KeyTable, base: Path = BASE) -> dict[str, Any]:
    outcome = await kong_command("render", "--config", table.config_path, "--base", base)
    assert outcome.code == 0, outcome.err
    document: dict[str, Any] = yaml.safe_load(outcome.out)
    return document
