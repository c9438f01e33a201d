"""The database: an async engine and sessions from `database.url`, and schema migrations.

`postgresql+psycopg://…` in production, `sqlite+aiosqlite:///…` as the embedded default.
Migrations are Alembic's, shipped inside the package; replicas starting together take a
lock first (an advisory lock on Postgres, a file lock on SQLite) so only one migrates.
"""

from __future__ import annotations

import asyncio
import fcntl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_MIGRATIONS = Path(__file__).parent / "migrations"
# Any constant will do, as long as nothing else on the server takes the same advisory lock.
_MIGRATION_LOCK_ID = 0x6C6C6D70  # "llmp"


class Database:
    def __init__(self, url: str, pool_size: int = 5) -> None:
        self.url = url
        self.engine = _engine(url, pool_size)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        return self.sessions()

    async def upgrade(self) -> None:
        """Bring the schema to the newest migration; safe to call from many replicas at once."""
        async with _file_lock(self.url), self.engine.connect() as connection:
            await connection.run_sync(_upgrade_locked)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def _engine(url: str, pool_size: int) -> AsyncEngine:
    if make_url(url).get_backend_name() != "sqlite":
        return create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)
    engine = create_async_engine(url, connect_args={"timeout": 30})
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # WAL lets readers go on while the spend writer inserts; foreign keys are off by default.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _upgrade_locked(connection: Connection) -> None:
    postgres = connection.dialect.name == "postgresql"
    if postgres:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        connection.commit()
    try:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        # Committed before the lock is released, so the next replica sees the new schema.
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        if postgres:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID})
            connection.commit()


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


@asynccontextmanager
async def _file_lock(url: str) -> AsyncIterator[None]:
    """On SQLite, serialise migrations of one file across processes with a lock file beside it."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        # Waited for in a thread: the event loop must not stop while another holder works.
        await asyncio.to_thread(fcntl.flock, handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def upgrade_blocking(url: str) -> None:
    """`llm-proxy db upgrade`: migrate and exit."""

    async def run() -> None:
        database = Database(url)
        try:
            await database.upgrade()
        finally:
            await database.close()

    asyncio.run(run())
