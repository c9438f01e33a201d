"""The usage series read from the hourly rollups (kept by store.rollup_writes) rather than
from every request-log row: what makes 30 days of hourly points cheap at a million rows.

A `usage_hourly` row sums one hour of one team, key, model pair and provider, so it serves a
series whose interval is whole hours and whose filters are among those dimensions. An
unfiltered series reads `usage_hourly_by` instead: one row per hour and value of the one
dimension it groups by, so it sums nothing (or only hours into longer steps). Counters are
exact. Latency percentiles come from the rows' bucket counts: the bucket holding the
nearest rank, interpolated by rank within it and clamped to the slowest and fastest request
seen, so a percentile is off by at most its bucket's width (LATENCY_BOUNDS_MS).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Select, case, func, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.models import (
    LATENCY_BOUNDS_MS,
    LATENCY_BUCKETS,
    ROLLUP_COUNTERS,
    ROLLUP_HOUR_S,
    usage_hourly,
    usage_hourly_by,
)

HOUR_S = ROLLUP_HOUR_S
PERCENTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
_SUMS = ROLLUP_COUNTERS
_c = usage_hourly.c


def _named(column: ColumnElement[str]) -> ColumnElement[str | None]:
    return func.nullif(column, "")


_GROUPS: dict[str, ColumnElement[Any]] = {
    "team": _named(_c.team_id),
    "key": _named(_c.key_id),
    "model": case((_c.model_routed != "", _c.model_routed), else_=_named(_c.model_requested)),
    "provider": _named(_c.provider),
}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which rollup rows a query covers: the filters it was given and what its caller sees."""

    team_id: str | None = None
    key_id: str | None = None
    provider: str | None = None
    model: str | None = None
    # A virtual key's session: its own key's and its team's rows only.
    own_key: str | None = None
    own_team: str | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found = [
            column == value
            for column, value in (
                (_c.team_id, self.team_id),
                (_c.key_id, self.key_id),
                (_c.provider, self.provider),
            )
            if value is not None
        ]
        if self.model is not None:
            found.append(or_(_c.model_requested == self.model, _c.model_routed == self.model))
        if self.own_key is not None:
            own = [_c.key_id == self.own_key]
            if self.own_team is not None:
                own.append(_c.team_id == self.own_team)
            found.append(or_(*own))
        return found


# A point as both series' readers give it: bucket start (Unix seconds), group, the _SUMS in
# their order, then p50, p95 and p99 latency in ms. api.admin.timeseries turns it into JSON.
PointRow = tuple[Any, ...]


async def rollup_series(
    session: AsyncSession, step_s: int, since_s: int, until_s: int, group_by: str, scope: Scope
) -> list[PointRow]:
    """Points of `step_s` (a multiple of an hour) over the hours from `since_s` to `until_s`."""
    if step_s % HOUR_S or since_s % HOUR_S or until_s % HOUR_S:
        raise ValueError("the rollup serves whole hours only")
    found = await session.execute(_query(step_s, since_s, until_s, group_by, scope))
    return _with_percentiles([tuple(row) for row in found.all()])


# An hour's totals, everything counted (the `none` view's sums and latency extremes): an
# hour whose totals are unchanged has had no record added (api.admin.usage_points).
Totals = tuple[Any, ...]


async def hour_totals(session: AsyncSession, since_s: int, until_s: int) -> dict[int, Totals]:
    """Each hour with requests from `since_s` to `until_s`, and its totals."""
    columns = usage_hourly_by.c
    query = select(
        columns.hour_s, *(columns[n] for n in _SUMS), columns.latency_min_ms, columns.latency_max_ms
    ).where(columns.dim == "none", columns.hour_s >= since_s, columns.hour_s < until_s)
    return {int(row[0]): tuple(row[1:]) for row in (await session.execute(query)).all()}


async def view_rows(
    session: AsyncSession, view: str, hours: Sequence[int]
) -> dict[int, list[PointRow]]:
    """One view's hourly points (usage_hourly_by's rows, as they are) of the given hours."""
    wanted = set(hours)
    columns = usage_hourly_by.c
    group = _named(columns.value) if view != "none" else literal(None)
    query = (
        select(
            columns.hour_s,
            group.label("grp"),
            *(columns[name] for name in (*_SUMS, *LATENCY_BUCKETS)),
            columns.latency_min_ms,
            columns.latency_max_ms,
        )
        .where(columns.dim == view, columns.hour_s >= min(wanted), columns.hour_s <= max(wanted))
        .order_by(columns.hour_s, columns.value)
    )
    found = (await session.execute(query)).all()
    by_hour: dict[int, list[PointRow]] = {}
    for row in _with_percentiles([tuple(row) for row in found if row[0] in wanted]):
        by_hour.setdefault(int(row[0]), []).append(row)
    return by_hour


def _with_percentiles(rows: list[PointRow]) -> list[PointRow]:
    """Rows of sums, bucket counts and latency extremes as points: sums, p50, p95, p99."""
    if not rows:
        return []
    counts = len(_SUMS)
    histogram = np.array([row[2 + counts : -2] for row in rows], np.int64)
    fastest = np.array([row[-2] for row in rows], np.float64)
    slowest = np.array([row[-1] for row in rows], np.float64)
    p50, p95, p99 = (percentile(histogram, fastest, slowest, p).tolist() for _, p in PERCENTILES)
    return [(*row[: 2 + counts], p50[i], p95[i], p99[i]) for i, row in enumerate(rows)]


def _query(step_s: int, since_s: int, until_s: int, group_by: str, scope: Scope) -> Select[Any]:
    """Unfiltered, one dimension's own rollup (usage_hourly_by) holds a row per hour and
    value, summed into longer steps (hourly points are its rows as they are: view_rows).
    Filtered, usage_hourly's combinations are summed."""
    conditions = scope.conditions()
    if conditions:
        table, extra = usage_hourly, conditions
        group = _GROUPS[group_by] if group_by != "none" else literal(None)
    else:
        table, extra = usage_hourly_by, [usage_hourly_by.c.dim == group_by]
        group = _named(usage_hourly_by.c.value) if group_by != "none" else literal(None)
    columns = table.c
    selected = [columns[name] for name in (*_SUMS, *LATENCY_BUCKETS)]
    window = [columns.hour_s >= since_s, columns.hour_s < until_s, *extra]
    bucket = (columns.hour_s // step_s * step_s).label("bucket")
    return (
        select(
            bucket,
            group.label("grp"),
            *(func.sum(column) for column in selected),
            func.min(columns.latency_min_ms),
            func.max(columns.latency_max_ms),
        )
        .where(*window)
        .group_by(bucket, group)
        .order_by(bucket, group)
    )


_LOWER = np.array((0.0, *LATENCY_BOUNDS_MS), np.float64)
_UPPER = np.array((*LATENCY_BOUNDS_MS, np.inf), np.float64)


def percentile(
    histogram: np.ndarray[Any, Any],
    fastest: np.ndarray[Any, Any],
    slowest: np.ndarray[Any, Any],
    p: float,
) -> np.ndarray[Any, Any]:
    """Per row of bucket counts: the nearest-rank p-quantile, interpolated in its bucket."""
    cumulative = np.cumsum(histogram, axis=1)
    total = cumulative[:, -1]
    rank = np.maximum(np.ceil(p * total), 1)
    index = (cumulative < rank[:, None]).sum(axis=1)
    rows = np.arange(len(histogram))
    before = np.where(index > 0, cumulative[rows, np.maximum(index - 1, 0)], 0)
    within = histogram[rows, index]
    low = np.maximum(_LOWER[index], fastest)
    high = np.minimum(_UPPER[index], slowest)
    share = (rank - before) / np.maximum(within, 1)
    estimate: np.ndarray[Any, Any] = np.clip(low + (high - low) * share, fastest, slowest)
    return estimate


def covering_hours(since_s: float, until_s: float) -> tuple[int, int]:
    """The whole hours a range touches: from the hour `since_s` falls in to the end of
    the hour `until_s` falls in (or `until_s` itself when it is on the hour)."""
    return int(since_s // HOUR_S * HOUR_S), int(-(-until_s // HOUR_S) * HOUR_S)
