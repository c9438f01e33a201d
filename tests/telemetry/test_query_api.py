"""`/admin/logs` and `/admin/usage/timeseries` on seeded request logs, SQLite and Postgres."""

from __future__ import annotations

import asyncio
import bisect
import math
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from llm_proxy.store.database import Database
from llm_proxy.store.models import LATENCY_BOUNDS_MS
from llm_proxy.store.request_log import RequestRecord, insert_records

from tests.support.processes import Gateway, Simulator
from tests.telemetry.conftest import Plain, gateway_config, launch

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
WINDOW = {"since": BASE.isoformat(), "until": (BASE + timedelta(hours=3)).isoformat()}


def seed_records(tag: str) -> list[RequestRecord]:
    """30 requests over 3 hours, two teams, varied status, cache, routes and latency."""
    records = []
    for i in range(30):
        started = BASE + timedelta(minutes=6 * i)
        latency = 100.0 + (i * 37) % 400
        records.append(
            RequestRecord(
                request_id=f"seed-{tag}-{i:02d}",
                started_at=started,
                finished_at=started + timedelta(milliseconds=latency),
                api="chat",
                latency_ms=latency,
                status=(200, 200, 429, 502)[i % 4],
                key_id=f"key-{tag}-{i % 2}",
                team_id=f"team-{tag}-{'a' if i % 3 else 'b'}",
                model_requested="gpt-4o" if i % 2 else "gpt-4o-mini",
                model_routed="gpt-4o" if i % 2 else "gpt-4o-mini",
                provider="openai" if i % 2 else "simulator",
                prompt_tokens=10 + i,
                completion_tokens=5 + i,
                cost_usd=0.001 * i,
                cache_hit=i % 5 == 0,
                fallback_used=i % 7 == 0,
                router_score=0.7 if i % 4 == 1 else None,
                trace_id=f"{i:032x}",
                stage_timings={"auth": 0.02, "route": 0.01, "dispatch": latency - 1},
            )
        )
    return records


def seed(database_url: str, records: list[RequestRecord]) -> None:
    async def write() -> None:
        database = Database(database_url)
        try:
            # Twice, as a spool replay after a crash would: the second insert changes
            # nothing, in the log or in the hourly rollup its trigger keeps.
            for _ in range(2):
                async with database.engine.begin() as connection:
                    await insert_records(connection, records)
        finally:
            await database.close()

    asyncio.run(write())


class Seeded:
    def __init__(
        self, gateway: Gateway, records: list[RequestRecord], tag: str, database_url: str
    ) -> None:
        self.gateway = gateway
        self.records = records
        self.tag = tag
        self.database_url = database_url

    def get(self, path: str, **params: Any) -> httpx.Response:
        with self.gateway.client() as http:
            return http.get(path, params={k: v for k, v in params.items() if v is not None})

    def team(self, name: str) -> str:
        return f"team-{self.tag}-{name}"


@pytest.fixture(scope="module")
def postgres_gateway(
    simulator: Simulator, postgres_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("pg")
    config = gateway_config(simulator, directory, database={"url": postgres_url})
    gateway = launch(config, directory)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def seeded(request: pytest.FixtureRequest, postgres_url: str) -> Seeded:
    tag = secrets.token_hex(3)
    records = seed_records(tag)
    if request.param == "sqlite":
        plain: Plain = request.getfixturevalue("plain")
        seed(plain.database_url, records)
        return Seeded(plain.gateway, records, tag, plain.database_url)
    gateway = request.getfixturevalue("postgres_gateway")  # it migrates the database first
    seed(postgres_url, records)
    return Seeded(gateway, records, tag, postgres_url)


def newest_first(records: list[RequestRecord]) -> list[str]:
    return [r["request_id"] for r in sorted(records, key=lambda r: r["started_at"], reverse=True)]


def openai_ok(record: RequestRecord) -> bool:
    return record["provider"] == "openai" and record["status"] == 200


def all_pages(seeded: Seeded, **params: Any) -> list[str]:
    ids: list[str] = []
    after = None
    pages = 0
    while True:
        response = seeded.get("/admin/logs", **WINDOW, **params, limit=4, after=after)
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [row["request_id"] for row in page["data"]]
        pages += 1
        after = page["next_after"]
        assert page["has_more"] == (after is not None)
        if after is None:
            return ids
        assert len(page["data"]) == 4
        assert pages < 20


def test_pages_walk_every_matching_row_in_order(seeded: Seeded) -> None:
    team_a = [r for r in seeded.records if r["team_id"] == seeded.team("a")]
    assert all_pages(seeded, team_id=seeded.team("a")) == newest_first(team_a)
    assert all_pages(seeded, team_id=seeded.team("a"), order="asc") == newest_first(team_a)[::-1]
    key = f"key-{seeded.tag}-1"
    assert all_pages(seeded, key_id=key) == newest_first(
        [r for r in seeded.records if r["key_id"] == key]
    )


@pytest.mark.parametrize(
    ("params", "keep"),
    [
        ({"model": "gpt-4o"}, lambda r: r["model_routed"] == "gpt-4o"),
        ({"status": "5xx"}, lambda r: r["status"] >= 500),
        ({"status": "429"}, lambda r: r["status"] == 429),
        ({"status": "error"}, lambda r: r["status"] >= 400),
        ({"cache": "hit"}, lambda r: r["cache_hit"]),
        ({"cache": "miss"}, lambda r: not r["cache_hit"]),
        ({"route": "fallback"}, lambda r: r["fallback_used"]),
        ({"route": "auto"}, lambda r: r["router_score"] is not None),
        ({"route": "direct"}, lambda r: r["router_score"] is None and not r["fallback_used"]),
        ({"provider": "openai", "status": "200"}, lambda r: openai_ok(r)),
    ],
)
def test_filters(seeded: Seeded, params: dict[str, str], keep: Any) -> None:
    team = seeded.team("a")
    mine = [r for r in seeded.records if keep(r) and r["team_id"] == team]
    assert mine
    assert all_pages(seeded, team_id=team, **params) == newest_first(mine)


def test_a_time_range_and_one_request_in_full(seeded: Seeded) -> None:
    since = BASE + timedelta(minutes=30)
    until = BASE + timedelta(minutes=60)
    with seeded.gateway.client() as http:
        response = http.get(
            "/admin/logs",
            params={"since": since.isoformat(), "until": until.isoformat(), "limit": 50},
        )
    inside = [r for r in seeded.records if since <= r["started_at"] < until]
    assert [row["request_id"] for row in response.json()["data"]] == newest_first(inside)
    record = seeded.records[7]
    detail = seeded.get(f"/admin/logs/{record['request_id']}").json()
    assert detail["trace_id"] == record["trace_id"]
    assert detail["stage_timings"] == record["stage_timings"]
    assert detail["status"] == record["status"]
    assert datetime.fromisoformat(detail["started_at"]) == record["started_at"]


def nearest_rank(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(p * len(ordered)) - 1]


def bucket_of(latency: float) -> tuple[float, float]:
    """The rollup's latency bucket holding `latency`: [low, high)."""
    bounds = (0.0, *LATENCY_BOUNDS_MS, math.inf)
    i = bisect.bisect_right(bounds, latency)
    return bounds[i - 1], bounds[i]


def test_usage_timeseries_per_hour_and_team(seeded: Seeded) -> None:
    response = seeded.get(
        "/admin/usage/timeseries", **WINDOW, interval="1h", group_by="team", key_id=None
    )
    assert response.status_code == 200, response.text
    assert response.json()["source"] == "rollup"
    ours = [p for p in response.json()["data"] if p["group"] and seeded.tag in p["group"]]
    expected = {}
    for hour in range(3):
        start = BASE + timedelta(hours=hour)
        for team in ("a", "b"):
            rows = [
                r
                for r in seeded.records
                if r["team_id"] == seeded.team(team)
                and start <= r["started_at"] < start + timedelta(hours=1)
            ]
            expected[(start, seeded.team(team))] = rows
    assert len(ours) == len(expected)
    for point in ours:
        rows = expected[(datetime.fromisoformat(point["start"]), point["group"])]
        latencies = [r["latency_ms"] for r in rows]
        errors = sum(r["status"] >= 400 for r in rows)
        assert point["requests"] == len(rows)
        assert point["prompt_tokens"] == sum(r["prompt_tokens"] for r in rows)
        assert point["tokens"] == sum(r["prompt_tokens"] + r["completion_tokens"] for r in rows)
        assert point["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in rows))
        assert point["errors"] == errors
        assert point["error_rate"] == pytest.approx(errors / len(rows))
        # Read from latency buckets: within the exact value's bucket and the seen range.
        for name, p in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            low, high = bucket_of(nearest_rank(latencies, p))
            estimate = point["latency_ms"][name]
            assert max(low, min(latencies)) <= estimate <= min(high, max(latencies)), name


def test_the_rollup_and_the_log_rows_agree(seeded: Seeded) -> None:
    """An hour from the rollup equals its four quarter-hours read from the log rows."""
    team = seeded.team("a")
    hourly = seeded.get("/admin/usage/timeseries", **WINDOW, interval="1h", team_id=team)
    quarters = seeded.get("/admin/usage/timeseries", **WINDOW, interval="15m", team_id=team)
    assert (hourly.json()["source"], quarters.json()["source"]) == ("rollup", "log")
    summed: dict[datetime, dict[str, float]] = {}
    names = ("requests", "errors", "tokens", "cost_usd", "cache_hits", "routing_saved_usd")
    for point in quarters.json()["data"]:
        hour = datetime.fromisoformat(point["start"]).replace(minute=0)
        totals = summed.setdefault(hour, dict.fromkeys(names, 0.0))
        for name in names:
            totals[name] += point[name]
    got = {datetime.fromisoformat(p["start"]): p for p in hourly.json()["data"]}
    assert got.keys() == summed.keys() and len(got) == 3
    for hour, totals in summed.items():
        for name in names:
            assert got[hour][name] == pytest.approx(totals[name]), name


def test_a_rollup_series_covers_whole_hours(seeded: Seeded) -> None:
    since, until = BASE + timedelta(minutes=40), BASE + timedelta(minutes=70)
    response = seeded.get(
        "/admin/usage/timeseries",
        since=since.isoformat(),
        until=until.isoformat(),
        interval="1h",
        team_id=seeded.team("b"),
    ).json()
    assert datetime.fromisoformat(response["since"]) == BASE
    assert datetime.fromisoformat(response["until"]) == BASE + timedelta(hours=2)
    # Every request of those two hours, not only those between 9:40 and 10:10.
    hours = [
        r
        for r in seeded.records
        if r["team_id"] == seeded.team("b") and r["started_at"] < BASE + timedelta(hours=2)
    ]
    assert sum(p["requests"] for p in response["data"]) == len(hours) == 7


def test_one_series_for_everything_in_five_minute_steps(seeded: Seeded) -> None:
    response = seeded.get(
        "/admin/usage/timeseries",
        since=BASE.isoformat(),
        until=(BASE + timedelta(minutes=30)).isoformat(),
        interval="5m",
        model="gpt-4o-mini",
    )
    data = response.json()["data"]
    rows = [
        r
        for r in seeded.records
        if r["started_at"] < BASE + timedelta(minutes=30) and r["model_routed"] == "gpt-4o-mini"
    ]
    # Each test session's databases are its own: this window holds this seed alone.
    per_bucket = {datetime.fromisoformat(p["start"]): p["requests"] for p in data}
    expected: dict[datetime, list[RequestRecord]] = {}
    for r in rows:
        start = r["started_at"].replace(minute=r["started_at"].minute // 5 * 5)
        expected.setdefault(start, []).append(r)
    assert per_bucket == {start: len(found) for start, found in expected.items()}
    assert all(p["group"] is None for p in data)
    # Read from the log rows: exact nearest-rank percentiles.
    for point in data:
        latencies = [r["latency_ms"] for r in expected[datetime.fromisoformat(point["start"])]]
        assert point["latency_ms"]["p95"] == nearest_rank(latencies, 0.95)


def test_an_hour_already_read_shows_the_records_added_to_it_since(seeded: Seeded) -> None:
    """The unfiltered hourly series keeps the hours it rendered (api.admin.usage_points):
    one that gains a record, from this process or any other, is read again; a replay of
    that record changes nothing."""
    hour = BASE + timedelta(hours=5)
    span = {"since": hour.isoformat(), "until": (hour + timedelta(hours=1)).isoformat()}

    def added(i: int) -> RequestRecord:
        started = hour + timedelta(minutes=10 * i)
        return RequestRecord(
            request_id=f"late-{seeded.tag}-{i}",
            started_at=started,
            finished_at=started + timedelta(milliseconds=80),
            api="chat",
            latency_ms=80.0 + 1000 * i,
            status=200,
            key_id=f"key-{seeded.tag}-late-{i}",
            prompt_tokens=7,
            cost_usd=0.25,
        )

    def by_key() -> dict[str, tuple[int, float, float]]:
        response = seeded.get("/admin/usage/timeseries", **span, interval="1h", group_by="key")
        assert response.json()["source"] == "rollup"
        return {
            p["group"]: (p["requests"], p["cost_usd"], p["latency_ms"]["p99"])
            for p in response.json()["data"]
        }

    first, second = f"key-{seeded.tag}-late-0", f"key-{seeded.tag}-late-1"
    seed(seeded.database_url, [added(0)])
    assert by_key() == {first: (1, 0.25, 80.0)}
    assert by_key() == {first: (1, 0.25, 80.0)}  # read from what was kept
    # A replay, and a new record twice in one batch (logged once).
    seed(seeded.database_url, [added(0), added(1), added(1)])
    assert by_key() == {first: (1, 0.25, 80.0), second: (1, 0.25, 1080.0)}
    everything = seeded.get("/admin/usage/timeseries", **span, interval="1h").json()["data"]
    assert [(p["requests"], p["prompt_tokens"]) for p in everything] == [(2, 14)]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/admin/logs", {"since": "2026-01-05T10:00:00Z", "until": "2026-01-05T09:00:00Z"}, 400),
        ("/admin/logs", {"after": "not-a-cursor"}, 400),
        ("/admin/logs", {"status": "2xy"}, 400),
        ("/admin/logs", {"cache": "maybe"}, 400),
        ("/admin/logs", {"since": "2026-01-05T10:00:00"}, 400),
        ("/admin/logs/no-such-request", {}, 404),
        ("/admin/usage/timeseries", {"interval": "2m"}, 400),
        ("/admin/usage/timeseries", {"interval": "1m", "since": "2025-01-01T00:00:00Z"}, 400),
    ],
)
def test_bad_queries_get_a_clear_4xx(
    seeded: Seeded, path: str, params: dict[str, str], status: int
) -> None:
    response = seeded.get(path, **params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["message"]


def test_the_query_api_wants_an_admin(seeded: Seeded) -> None:
    with httpx.Client(base_url=seeded.gateway.url, timeout=10) as http:
        assert http.get("/admin/logs").status_code == 401
        assert http.get("/admin/usage/timeseries").status_code == 401


def test_a_served_request_is_in_the_log_with_its_stage_timings(plain: Plain) -> None:
    gw = plain.gateway
    with gw.client() as http:
        answered = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "log me"}]},
        )
        request_id = answered.headers["x-request-id"]
        for _ in range(100):
            found = http.get(f"/admin/logs/{request_id}")
            if found.status_code == 200:
                break
            time.sleep(0.05)
    row = found.json()
    assert row["status"] == 200
    assert {"auth", "limits", "budget", "cache", "route", "dispatch", "settle"} <= set(
        row["stage_timings"]
    )
    assert row["stage_timings"]["dispatch"] <= row["latency_ms"]
    # Stages with nothing to do for it are not run at all: no prompt named, no guardrails on.
    assert not {"template", "guard"} & set(row["stage_timings"])
