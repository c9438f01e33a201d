"""Scratch Postgres databases and Redis prefixes: each test area gets its own, dropped when
it is done."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import redis
from psycopg import sql

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@contextmanager
def scratch_database(area: str) -> Iterator[str]:
    """Create `gw_<area>_<random>`, yield its SQLAlchemy URL, drop it (even if in use)."""
    name = f"gw_{area}_{secrets.token_hex(4)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def scratch_redis_prefix(area: str, url: str = "redis://127.0.0.1:6379/0") -> Iterator[str]:
    """A fresh key prefix `gwtest:<area>:<random>:` in the real Redis, its keys deleted after."""
    prefix = f"gwtest:{area}:{secrets.token_hex(6)}:"
    try:
        yield prefix
    finally:
        delete_redis_prefix(prefix, url)


def delete_redis_prefix(prefix: str, url: str = "redis://127.0.0.1:6379/0") -> None:
    """Delete every key the gateway wrote under `prefix`: plain ones, and the hash-tagged
    ones of the limits and the cache (`{<prefix>limits}:…`), which start with the brace."""
    with redis.Redis.from_url(url) as client:
        keys = [
            key
            for match in (prefix, "{" + prefix)
            for key in client.scan_iter(match=f"{match}*", count=1000)
        ]
        if keys:
            client.delete(*keys)
