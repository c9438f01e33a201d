"""Backups of the control plane: every table but the request log and its logged prompts
(unless asked), as JSON lines.

The first line is a header naming the format, its version and the schema revision the
rows were read at; then one line per row, `{"table": …, "row": {…}}`, parents before
children. Secrets stay as they are stored: virtual keys and admin tokens as hashes,
provider keys sealed (restoring them needs the same `GATEWAY_SECRET_KEY`).

A restore migrates the target to the newest schema first, so a backup made before a
migration restores after it: columns the backup lacks take their defaults. It refuses
a database that holds any control-plane row unless forced (then those rows are
replaced), and a backup from a newer schema than this version knows. One transaction:
a restore that fails leaves the target as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any

import orjson
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, DateTime, Integer, Table, delete, func, select, text

from llm_proxy.store.database import Database, alembic_config
from llm_proxy.store.models import (
    Base,
    LoggedPrompt,
    RequestLog,
    UTCDateTime,
    usage_hourly,
    usage_hourly_by,
)
from llm_proxy.store.rollup_writes import add_logged

FORMAT = "llm-proxy-backup"
FORMAT_VERSION = 1
_BATCH = 500
_NON_STR_KEYS = orjson.OPT_NON_STR_KEYS


class BackupError(Exception):
    pass


# Kept from the request log's inserts (store.rollup_writes): never backed up, rebuilt
# from the log's rows once they are restored.
_DERIVED = (usage_hourly, usage_hourly_by)


def tables(with_logs: bool) -> list[Table]:
    """The tables a backup holds, parents before children."""
    logs = (RequestLog.__table__, LoggedPrompt.__table__)
    return [
        t for t in Base.metadata.sorted_tables if (with_logs or t not in logs) and t not in _DERIVED
    ]


async def create(database: Database, out: IO[bytes], with_logs: bool) -> dict[str, int]:
    """Write the backup to `out`; answers the row count of each table."""
    async with database.engine.connect() as connection:
        return await connection.run_sync(_dump, out, with_logs)


async def restore(database: Database, source: IO[bytes], force: bool) -> dict[str, int]:
    """Load a backup into `database` (migrated first); answers the row count of each table."""
    header = _header(source.readline())
    await database.upgrade()
    async with database.engine.begin() as connection:
        return await connection.run_sync(_load, header, source, force)


def _dump(connection: Connection, out: IO[bytes], with_logs: bool) -> dict[str, int]:
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "schema_revision": _revision(connection),
        "created_at": datetime.now(UTC).isoformat(),
        "with_logs": with_logs,
    }
    out.write(orjson.dumps(header) + b"\n")
    counts: dict[str, int] = {}
    for table in tables(with_logs):
        counts[table.name] = 0
        order = list(table.primary_key.columns)
        for row in connection.execute(select(table).order_by(*order)).mappings():
            # Column names are SQLAlchemy's str subclass; orjson wants plain str keys.
            line = {"table": table.name, "row": {str(k): v for k, v in row.items()}}
            out.write(orjson.dumps(line, default=_encode, option=_NON_STR_KEYS) + b"\n")
            counts[table.name] += 1
    return counts


def _encode(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} into a backup")


def _header(line: bytes) -> dict[str, Any]:
    try:
        header = orjson.loads(line)
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("not an llm-proxy backup (its first line is no backup header)")
    if header.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"backup format version {header.get('format_version')} is not one this version "
            f"reads ({FORMAT_VERSION})"
        )
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    if header.get("schema_revision") not in known:
        raise BackupError(
            f"the backup's schema revision {header.get('schema_revision')!r} is unknown here: "
            "it was made by a newer llm-proxy; restore it with that version"
        )
    return header


def _load(
    connection: Connection, header: dict[str, Any], source: IO[bytes], force: bool
) -> dict[str, int]:
    targets = tables(with_logs=True)
    occupied = [t.name for t in targets if connection.scalar(select(func.count()).select_from(t))]
    if occupied and not force:
        raise BackupError(
            "the target database is not empty (" + ", ".join(occupied) + "); "
            "restore into an empty one, or pass --force to replace what it holds"
        )
    for table in reversed(targets):
        if table.name in occupied:
            connection.execute(delete(table))
    for table in _DERIVED:
        connection.execute(delete(table))
    by_name = {t.name: t for t in targets}
    counts: dict[str, int] = {}
    for table_name, rows in _batches(source):
        table = by_name.get(table_name)
        if table is None:
            raise BackupError(f"the backup holds a table this version does not have: {table_name}")
        connection.execute(table.insert(), [_decoded(table, row) for row in rows])
        counts[table_name] = counts.get(table_name, 0) + len(rows)
    add_logged(connection)  # the rollups, emptied above, from the log as restored
    _advance_sequences(connection, targets)
    return counts


def _batches(source: IO[bytes]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Rows of one table at a time, up to _BATCH, in the order the backup holds them."""
    current: str | None = None
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(source, start=2):
        if not line.strip():
            continue
        try:
            item = orjson.loads(line)
            table_name, row = item["table"], item["row"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            raise BackupError(f"line {number} of the backup is not a row") from None
        if rows and (table_name != current or len(rows) >= _BATCH):
            assert current is not None
            yield current, rows
            rows = []
        current = table_name
        rows.append(row)
    if rows and current is not None:
        yield current, rows


def _decoded(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """The row's values for this schema's columns (a column it lacks takes its default)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        if column.name not in row:
            continue
        value = row[column.name]
        if value is not None and isinstance(column.type, DateTime | UTCDateTime):
            value = datetime.fromisoformat(value)
        values[column.name] = value
    return values


def _advance_sequences(connection: Connection, targets: Iterable[Table]) -> None:
    """Postgres: serial ids continue after the restored rows, not from 1."""
    if connection.dialect.name != "postgresql":
        return
    for table in targets:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not isinstance(keys[0].type, Integer) or not keys[0].autoincrement:
            continue
        sequence = connection.scalar(
            text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": table.name, "column": keys[0].name},
        )
        if sequence is not None:
            highest = select(func.max(keys[0])).scalar_subquery()
            connection.execute(select(func.setval(sequence, func.coalesce(highest, 0) + 1, False)))


def _revision(connection: Connection) -> str | None:
    revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return str(revision) if revision is not None else None
