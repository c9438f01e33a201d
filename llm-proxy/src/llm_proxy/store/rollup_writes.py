"""Keeping the hourly rollups (usage_hourly, usage_hourly_by): from each batch of logged
records, in the batch's own transaction, and rebuilt from the log when it is restored.

`add_records` sums the records a batch inserted (the request log's insert says which: a
replayed record is no insert, so nothing counts twice) into one upsert per group and hour,
and one per view and hour, in the transaction that logs them, so a rollup row never holds a
record the log lacks or misses one it holds. Until migration 0022 a row-level trigger did
this, five more upserts per record (about 30 µs each on the request path's writer, and rows
updated so often that usage_hourly_by grew to 1 GB for 48,000 rows at the bench's scale).
Only records that are no one's sub-call count, as in the usage series (an optimizer run's
parent carries its sub-calls' sums). NULL dimensions are stored as ''.

`add_logged` sums rows already in the log (all of them, or those matching a condition) the
same way, in SQL: a restore rebuilds the rollups with it, and the dashboard bench rolls up
each batch it seeds.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Table,
    and_,
    case,
    cast,
    func,
    literal,
    select,
    true,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from llm_proxy.store import driver_sql
from llm_proxy.store.models import (
    LATENCY_BOUNDS_MS,
    LATENCY_BUCKETS,
    ROLLUP_COUNTERS,
    ROLLUP_HOUR_S,
    RequestLog,
    usage_hourly,
    usage_hourly_by,
)

_DIMENSIONS = ("hour_s", "team_id", "key_id", "model_requested", "model_routed", "provider")
_SUMS = (*ROLLUP_COUNTERS, *LATENCY_BUCKETS)
_VALUES = (*_SUMS, "latency_min_ms", "latency_max_ms")
_VIEWS = ("none", "team", "key", "model", "provider")
_FIRST_BUCKET = 8  # index of latency_b00 in a group's values
_MIN, _MAX = len(_SUMS), len(_SUMS) + 1
# A group's sums before its first record: counts, then money, then the latency buckets.
_NEW_GROUP = (0,) * 5 + (0.0,) * 3 + (0,) * len(LATENCY_BUCKETS)


async def add_records(connection: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Add newly logged records (request-log rows) to both rollups, in `connection`'s
    transaction."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for row in rows:
        if row.get("parent_request_id") is not None:
            continue
        latency = float(row["latency_ms"])
        hour = int(row["started_at"].timestamp()) // ROLLUP_HOUR_S * ROLLUP_HOUR_S
        key = (
            hour,
            row.get("team_id") or "",
            row.get("key_id") or "",
            row.get("model_requested") or "",
            row.get("model_routed") or "",
            row.get("provider") or "",
        )
        group = groups.get(key)
        if group is None:
            group = groups[key] = [*_NEW_GROUP, latency, latency]
        elif latency < group[_MIN]:
            group[_MIN] = latency
        elif latency > group[_MAX]:
            group[_MAX] = latency
        cost = row.get("cost_usd") or 0.0
        strong = row.get("cost_strong_usd")
        group[0] += 1
        if row["status"] >= 400:
            group[1] += 1
        group[2] += row.get("prompt_tokens") or 0
        group[3] += row.get("completion_tokens") or 0
        group[4] += cost
        if row.get("cache_hit"):
            group[5] += 1
        group[6] += row.get("cost_saved_usd") or 0.0
        if strong is not None:
            group[7] += strong - cost
        group[_FIRST_BUCKET + bisect.bisect_right(LATENCY_BOUNDS_MS, latency)] += 1
    if not groups:
        return
    views: dict[tuple[str, int, str], list[Any]] = {}
    for (hour, team, key_id, asked, answered, provider), values in groups.items():
        for view, value in zip(
            _VIEWS, ("", team, key_id, answered or asked, provider), strict=True
        ):
            _merge(views, (view, hour, value), values)
    dialect = connection.dialect.name
    for table, found in (("usage_hourly", groups), ("usage_hourly_by", views)):
        statement = _upsert(dialect, table)
        # In key order: replicas' batches lock shared rows in one order, so none deadlock.
        ordered = sorted(found.items())
        await driver_sql.execute_many(
            connection, statement, [(*key, *values) for key, values in ordered]
        )


def _merge(into: dict[tuple[Any, ...], list[Any]], key: tuple[Any, ...], values: list[Any]) -> None:
    found = into.get(key)
    if found is None:
        into[key] = list(values)
        return
    for i in range(_MIN):
        found[i] += values[i]
    found[_MIN] = min(found[_MIN], values[_MIN])
    found[_MAX] = max(found[_MAX], values[_MAX])


@functools.cache
def _upsert(dialect: str, table: str) -> str:
    """One group's INSERT … ON CONFLICT DO UPDATE that adds its sums to the row there."""
    key = _DIMENSIONS if table == "usage_hourly" else ("dim", "hour_s", "value")
    mark = "?" if dialect == "sqlite" else "%s"
    least, greatest = ("min", "max") if dialect == "sqlite" else ("LEAST", "GREATEST")
    updates = [f"{n} = {table}.{n} + excluded.{n}" for n in _SUMS]
    updates += [
        f"latency_min_ms = {least}({table}.latency_min_ms, excluded.latency_min_ms)",
        f"latency_max_ms = {greatest}({table}.latency_max_ms, excluded.latency_max_ms)",
    ]
    columns = (*key, *_VALUES)
    marks = ", ".join([mark] * len(columns))
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)}"
    )


def add_logged(connection: Connection, where: ColumnElement[bool] | None = None) -> None:
    """Add the request log's rows (those matching `where`, else all) to both rollups, in
    SQL. Rows already rolled up would count twice: for rows the rollups do not hold yet."""
    log = RequestLog.__table__
    dialect = connection.dialect.name
    hour: ColumnElement[int]
    if dialect == "postgresql":
        hour = cast(
            func.floor(func.extract("epoch", log.c.started_at) / ROLLUP_HOUR_S) * ROLLUP_HOUR_S,
            BigInteger,
        )
    else:
        # SQLite keeps times as UTC text; strftime('%s') reads it back as Unix seconds.
        hour = cast(func.strftime("%s", log.c.started_at), Integer) // ROLLUP_HOUR_S * ROLLUP_HOUR_S
    latency = log.c.latency_ms
    buckets = []
    for i in range(len(LATENCY_BUCKETS)):
        inside = []
        if i:
            inside.append(latency >= LATENCY_BOUNDS_MS[i - 1])
        if i < len(LATENCY_BOUNDS_MS):
            inside.append(latency < LATENCY_BOUNDS_MS[i])
        buckets.append(func.sum(case((and_(*inside), 1), else_=0)))
    named = [func.coalesce(log.c[n], "") for n in _DIMENSIONS[1:]]
    sums = [
        func.count(),
        func.sum(case((log.c.status >= 400, 1), else_=0)),
        func.sum(func.coalesce(log.c.prompt_tokens, 0)),
        func.sum(func.coalesce(log.c.completion_tokens, 0)),
        func.sum(func.coalesce(log.c.cost_usd, 0.0)),
        func.sum(case((log.c.cache_hit, 1), else_=0)),
        func.sum(func.coalesce(log.c.cost_saved_usd, 0.0)),
        func.sum(func.coalesce(log.c.cost_strong_usd - log.c.cost_usd, 0.0)),
        *buckets,
        func.min(latency),
        func.max(latency),
    ]
    conditions: list[ColumnElement[bool]] = [log.c.parent_request_id.is_(None)]
    if where is not None:
        conditions.append(where)
    # Labelled: a subquery's columns are named, and unlabelled ones share names.
    labelled = [
        column.label(name)
        for column, name in zip([hour, *named, *sums], [*_DIMENSIONS, *_VALUES], strict=True)
    ]
    grouped = select(*labelled).where(*conditions).group_by(hour, *named)
    _upsert_from(connection, usage_hourly, _DIMENSIONS, grouped)
    # The views from the groups just summed (far fewer rows than the log's).
    summed = grouped.subquery()
    columns = list(summed.c)
    hour_c, team, key_id, asked, answered, provider = columns[:6]
    values = columns[6:]
    model = case((answered != "", answered), else_=asked)
    totals: list[ColumnElement[Any]] = [func.sum(c) for c in values[:_MIN]]
    totals += [func.min(values[_MIN]), func.max(values[_MAX])]
    for view, value in zip(_VIEWS, (None, team, key_id, model, provider), strict=True):
        if value is None:
            # Postgres refuses a constant in GROUP BY: the view of everything groups by hour.
            rows = select(literal(view), hour_c, literal(""), *totals).group_by(hour_c)
        else:
            rows = select(literal(view), hour_c, value, *totals).group_by(hour_c, value)
        # SQLite reads INSERT … SELECT … ON CONFLICT unambiguously only after a WHERE.
        _upsert_from(connection, usage_hourly_by, ("dim", "hour_s", "value"), rows.where(true()))


def _upsert_from(connection: Connection, table: Table, key: tuple[str, ...], rows: Any) -> None:
    postgres = connection.dialect.name == "postgresql"
    statement = (postgresql.insert if postgres else sqlite.insert)(table)
    statement = statement.from_select([*key, *_VALUES], rows)
    excluded = statement.excluded
    least, greatest = (func.least, func.greatest) if postgres else (func.min, func.max)
    updates: dict[str, Any] = {n: table.c[n] + excluded[n] for n in _SUMS}
    updates["latency_min_ms"] = least(table.c.latency_min_ms, excluded.latency_min_ms)
    updates["latency_max_ms"] = greatest(table.c.latency_max_ms, excluded.latency_max_ms)
    connection.execute(statement.on_conflict_do_update(index_elements=list(key), set_=updates))
