"""`/admin/usage/timeseries`: traffic, tokens, cost, latency and errors per interval.

One SQL query on the request log serves Postgres and SQLite alike: rows are put in time
buckets (the one expression that differs per database), ranked by latency within their
bucket and group by a window function, and each percentile is the nearest-rank value
(the smallest latency whose rank reaches p * n), so no percentile function is needed.
Only buckets with requests are returned. An optimizer run's parent record carries its
sub-calls' summed tokens and cost, so the series reads only records that are no one's
sub-call (each fan-out counted once, on its parent, as the usage totals do), unless the
filter names a parent: then it is that run's sub-calls.

An interval of whole hours filtered only by team, key, model or provider (the dashboard's
long views) is read from the hourly rollup instead (store.usage_rollup): its points cover
whole hours, `since` and `until` widened to the hours they fall in (the answer says which),
and its percentiles are interpolated in latency buckets. Unfiltered and hourly, its hours
are rendered once and kept while their totals stand (api.admin.usage_points). Anything
else reads the log rows, with exact nearest-rank percentiles.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    case,
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute
from starlette.responses import Response

from llm_proxy.api.admin.access import GatewayDep, Session, Viewer
from llm_proxy.api.admin.log_filter import Filter, LogFilter, visible_to
from llm_proxy.api.admin.usage_points import HourlyPointsDep, body, written
from llm_proxy.pipeline.errors import bad_request
from llm_proxy.store.models import RequestLog
from llm_proxy.store.usage_rollup import HOUR_S, Scope, covering_hours, rollup_series

router = APIRouter(prefix="/admin/usage", tags=["Admin: usage"])

_INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}
_GROUPS: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]] = {
    "team": RequestLog.team_id,
    "key": RequestLog.key_id,
    "model": func.coalesce(RequestLog.model_routed, RequestLog.model_requested),
    "provider": RequestLog.provider,
}
_PERCENTILES = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))
_MAX_BUCKETS = 2000
_DEFAULT_SPAN = timedelta(hours=24)

Interval = Annotated[Literal["1m", "5m", "15m", "1h", "6h", "1d"], Query()]
GroupBy = Annotated[Literal["none", "team", "key", "model", "provider"], Query()]


class Latency(BaseModel):
    p50: float
    p95: float
    p99: float


class Point(BaseModel):
    start: datetime
    group: str | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    cost_usd: float
    errors: int
    error_rate: float
    latency_ms: Latency
    cache_hits: int
    cache_saved_usd: float = Field(description="what the cache hits' answers cost when made")
    routing_saved_usd: float = Field(
        description="model auto: the strong model's cost of the routed requests, less theirs"
    )


class Series(BaseModel):
    object: Literal["usage.timeseries"] = "usage.timeseries"
    since: datetime
    until: datetime
    interval_s: int
    group_by: str
    source: Literal["log", "rollup"] = Field(
        description="`rollup`: read from the hourly rollup (whole hours, bucketed percentiles)"
    )
    data: list[Point]


@router.get(
    "/timeseries",
    summary="Requests, tokens, cost, p50/p95/p99 latency, error rate",
    response_model=Series,
)
async def usage_timeseries(
    caller: Viewer,
    session: Session,
    gateway: GatewayDep,
    hourly: HourlyPointsDep,
    where: Filter,
    interval: Interval = "1h",
    group_by: GroupBy = "none",
) -> Response:
    step = _INTERVALS[interval]
    until = where.until or datetime.now(UTC)
    since = where.since or until - _DEFAULT_SPAN
    if (until - since).total_seconds() / step > _MAX_BUCKETS:
        raise bad_request(
            f"That range holds more than {_MAX_BUCKETS} intervals of {interval}; "
            "choose a longer interval or a shorter range.",
            param="interval",
        )
    scope = _rollup_scope(where, caller, step)
    if scope is not None:
        first, last = covering_hours(since.timestamp(), until.timestamp())
        since, until = datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)
        if step == HOUR_S and not scope.conditions():
            data = await hourly.series(session, group_by, first, last)
        else:
            data = written(await rollup_series(session, step, first, last, group_by, scope))
        return _series(since, until, step, group_by, "rollup", data)
    conditions = [RequestLog.started_at >= since, RequestLog.started_at < until]
    conditions += visible_to(caller)
    if not where.names_parent:
        conditions.append(RequestLog.parent_request_id.is_(None))
    bucket = _bucket(gateway.database.dialect, step)
    query = _series_query(bucket, group_by, [*conditions, *where.conditions])
    rows = (await session.execute(query)).all()
    return _series(since, until, step, group_by, "log", written(rows))


def _series(
    since: datetime, until: datetime, step: int, group_by: str, source: str, data: list[bytes]
) -> Response:
    """The answer, as `Series` documents it, written by orjson (usage_points): pydantic's
    validation of tens of thousands of points (a series grouped by key) took longer than
    the query."""
    envelope = {
        "object": "usage.timeseries",
        "since": since,
        "until": until,
        "interval_s": step,
        "group_by": group_by,
        "source": source,
    }
    return Response(body(envelope, data), media_type="application/json")


_ROLLUP_FILTERS = {"team_id", "key_id", "model", "provider"}


def _rollup_scope(where: LogFilter, caller: Viewer, step: int) -> Scope | None:
    """The rollup's view of this query, when the rollup can answer it."""
    given = dict(where.given)
    if step % HOUR_S or not given.keys() <= _ROLLUP_FILTERS:
        return None
    if caller.grant is not None:
        return Scope(**given)
    if caller.key_id is None:
        return None
    return Scope(**given, own_key=caller.key_id, own_team=caller.team_id)


def _bucket(dialect: str, step: int) -> ColumnElement[int]:
    """The start of a row's interval, in Unix seconds."""
    if dialect == "postgresql":
        epoch = func.floor(func.extract("epoch", RequestLog.started_at) / step) * step
        return cast(epoch, BigInteger)
    # SQLite keeps times as UTC text; strftime('%s') reads it back as Unix seconds.
    seconds = cast(func.strftime("%s", RequestLog.started_at), Integer)
    return cast(seconds // step * step, Integer)


def _series_query(
    bucket: ColumnElement[int], group_by: str, conditions: list[ColumnElement[bool]]
) -> Select[Any]:
    group = _GROUPS[group_by] if group_by != "none" else literal(None)
    rows = (
        select(
            bucket.label("bucket"),
            group.label("grp"),
            RequestLog.latency_ms,
            RequestLog.status,
            RequestLog.prompt_tokens,
            RequestLog.completion_tokens,
            RequestLog.cost_usd,
            RequestLog.cache_hit,
            RequestLog.cost_saved_usd,
            # NULL unless auto-routed, which SUM skips.
            (RequestLog.cost_strong_usd - RequestLog.cost_usd).label("routing_saved"),
        )
        .where(*conditions)
        .subquery()
    )
    partition = (rows.c.bucket, rows.c.grp)
    ranked = select(
        rows,
        func.row_number().over(partition_by=partition, order_by=rows.c.latency_ms).label("rn"),
        func.count().over(partition_by=partition).label("n"),
    ).subquery()
    percentiles = [
        func.min(case((ranked.c.rn >= p * ranked.c.n, ranked.c.latency_ms))).label(name)
        for name, p in _PERCENTILES
    ]
    return (
        select(
            ranked.c.bucket,
            ranked.c.grp,
            # In store.usage_rollup.PointRow's order: one builder makes both series' points.
            func.count().label("requests"),
            func.sum(case((ranked.c.status >= 400, 1), else_=0)).label("errors"),
            func.sum(ranked.c.prompt_tokens).label("prompt_tokens"),
            func.sum(ranked.c.completion_tokens).label("completion_tokens"),
            func.sum(ranked.c.cost_usd).label("cost_usd"),
            func.sum(case((ranked.c.cache_hit, 1), else_=0)).label("cache_hits"),
            func.sum(ranked.c.cost_saved_usd).label("cache_saved_usd"),
            func.sum(ranked.c.routing_saved).label("routing_saved_usd"),
            *percentiles,
        )
        .group_by(ranked.c.bucket, ranked.c.grp)
        .order_by(ranked.c.bucket, ranked.c.grp)
    )
