"""The state behind the `ours-full` target: a Postgres database and a Redis key prefix of
the run's own, and the virtual key its requests authenticate with.

Postgres and Redis are shared with other people's tests on this machine, so the run never
touches anything it did not create: one database, dropped at the end, and one key prefix,
whose keys are deleted at the end (never FLUSHDB).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
REDIS_URL = "redis://127.0.0.1:6379/0"

# Far above anything a cell reaches (int32 columns): limits are counted, never refused.
KEY_RPM = 100_000_000
KEY_TPM = 2_000_000_000


@dataclass(frozen=True)
class State:
    database_url: str
    redis_url: str
    redis_prefix: str


@contextmanager
def provisioned() -> Iterator[State]:
    """A fresh database and an unused Redis prefix for the duration of the block."""
    name = f"gw_bench_{secrets.token_hex(4)}"
    prefix = f"gwbench:{secrets.token_hex(4)}:"
    _create_database(name)
    try:
        yield State(PG_URL.format(name=name), REDIS_URL, prefix)
    finally:
        _drop_database(name)
        _delete_prefix(prefix)


def issue_key(base_url: str, master_key: str) -> str:
    """A team and a virtual key in it, through the admin API; returns the key's secret."""
    headers = {"Authorization": f"Bearer {master_key}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as admin:
        team = _created(admin.post("/admin/teams", json={"name": "bench"}))
        body = {"name": "bench", "team_id": team["id"], "rpm": KEY_RPM, "tpm": KEY_TPM}
        key = _created(admin.post("/admin/keys", json=body))
    secret: str = key["key"]
    return secret


def _created(response: httpx.Response) -> dict[str, Any]:
    if response.status_code != 201:
        raise RuntimeError(f"admin API: HTTP {response.status_code}: {response.text[:300]}")
    created: dict[str, Any] = response.json()
    return created


def _create_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        connection.execute(statement.format(sql.Identifier(name)))


def _delete_prefix(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        stale = list(client.scan_iter(match=prefix + "*", count=1000))
        for start in range(0, len(stale), 1000):
            client.delete(*stale[start : start + 1000])
    finally:
        client.close()
