"""The usage series' points as JSON, and the unfiltered hourly series rendered once per hour.

A point's JSON is written here for every series (`render`). The dashboard's long views
(30 days, hourly, grouped by key or team, no filter) are thousands of points whose hours,
except the current one, no longer change: reading and writing each of them again on every
load cost far more than the bar (36,000 points grouped by key: about 300 ms in Python, about
170 ms as JSON built in Postgres). `HourlyPoints` keeps each hour's rendered points per
view, with the hour's totals (the `none` view's row of usage_hourly_by) as they stood when
they were read. Records are only ever added to an hour, and every record adds to its hour's
`requests`, so unchanged totals mean an unchanged hour, whichever replica wrote it: a
series then reads those totals (one row per hour) and renders only the hours whose totals
moved. The totals are read before the rows, so a kept hour is never older than its totals.
Bounded by the bytes kept, least recently used first out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.usage_rollup import Totals, hour_totals, view_rows

_OPTIONS = orjson.OPT_UTC_Z
# About three views of 30 days grouped by 50 keys (11 MB each).
_MAX_BYTES = 32 * 1024 * 1024


def render(rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
    """Each point from a row in store.usage_rollup.PointRow's order (every reader gives it)."""
    starts: dict[int, datetime] = {}
    points = []
    for row in rows:
        bucket, group, requests, errors, prompt, completion, cost, hits, saved, routed = row[:10]
        requests, errors = int(requests), int(errors or 0)
        prompt, completion = int(prompt or 0), int(completion or 0)
        bucket = int(bucket)
        start = starts.get(bucket) or starts.setdefault(bucket, datetime.fromtimestamp(bucket, UTC))
        points.append(
            {
                "start": start,
                "group": group,
                "requests": requests,
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "tokens": prompt + completion,
                "cost_usd": float(cost or 0.0),
                "errors": errors,
                "error_rate": errors / requests,
                "latency_ms": {"p50": float(row[10]), "p95": float(row[11]), "p99": float(row[12])},
                "cache_hits": int(hits or 0),
                "cache_saved_usd": float(saved or 0.0),
                "routing_saved_usd": float(routed or 0.0),
            }
        )
    return points


def body(envelope: dict[str, Any], points: list[bytes]) -> bytes:
    """The answer: `envelope`, then as `data` the points written in `points` (each part
    one or more points' JSON, comma-separated), copied once: a series grouped by key is
    11 MB, and each copy of it took milliseconds."""
    head = orjson.dumps(envelope, option=_OPTIONS)[:-1] + b',"data":['
    if not points:
        return head + b"]}"
    parts = [head + points[0], *points[1:]]
    parts[-1] += b"]}"
    return b",".join(parts)


def written(rows: Iterable[Sequence[Any]]) -> list[bytes]:
    """The points of `rows` as `body` takes them."""
    points = orjson.dumps(render(rows), option=_OPTIONS)[1:-1]
    return [points] if points else []


class HourlyPoints:
    """Rendered hours of the unfiltered hourly series, per view, kept while their totals stand."""

    def __init__(self, max_bytes: int = _MAX_BYTES) -> None:
        self._max_bytes = max_bytes
        self._bytes = 0
        # (view, hour) -> (the hour's totals when read, its points' JSON without brackets)
        self._kept: OrderedDict[tuple[str, int], tuple[Totals, bytes]] = OrderedDict()

    async def series(
        self, session: AsyncSession, view: str, since_s: int, until_s: int
    ) -> list[bytes]:
        """The points of `view` ('none' or a dimension), hourly, whole hours, as `body`
        takes them."""
        totals = await hour_totals(session, since_s, until_s)
        parts: dict[int, bytes] = {}
        stale = []
        for hour, now in totals.items():
            kept = self._kept.get((view, hour))
            if kept is not None and kept[0] == now:
                self._kept.move_to_end((view, hour))
                parts[hour] = kept[1]
            else:
                stale.append(hour)
        if stale:
            fresh = await view_rows(session, view, stale)
            for hour in stale:
                part = b",".join(written(fresh.get(hour, ())))
                parts[hour] = part
                self._keep((view, hour), totals[hour], part)
        return [parts[hour] for hour in sorted(parts) if parts[hour]]

    def _keep(self, key: tuple[str, int], totals: Totals, part: bytes) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])
        if len(part) > self._max_bytes:
            return
        self._kept[key] = (totals, part)
        self._bytes += len(part)
        while self._bytes > self._max_bytes:
            _, (_, dropped) = self._kept.popitem(last=False)
            self._bytes -= len(dropped)


def _hourly_points(request: Request) -> HourlyPoints:
    """The app's one HourlyPoints, made on first use."""
    state = request.app.state
    found: HourlyPoints | None = getattr(state, "hourly_points", None)
    if found is None:
        found = state.hourly_points = HourlyPoints()
    return found


HourlyPointsDep = Annotated[HourlyPoints, Depends(_hourly_points)]
