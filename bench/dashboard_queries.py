"""The dashboard's queries at scale: 1,000,000 request-log rows on Postgres.

Seeds a scratch database (`gw_bench_dash_<random>`, dropped at the end unless `--keep`)
with N rows over 30 days (50 keys, 10 teams, 200 users, 5 models, 3 providers, ~4 %
errors, 10 % cache hits, 3 % fallbacks, 20 % auto-routed), generated inside Postgres with
`generate_series`, then starts a gateway on it and times over loopback HTTP:

- `/admin/logs`, first page (50 rows), unfiltered and with each filter the Logs page
  offers; bar: p95 <= 50 ms per filter;
- `/admin/usage/timeseries`, 30 days hourly, ungrouped and grouped by team, key, model
  and provider; bar: p95 <= 100 ms. These are read from the hourly rollups
  (`usage_hourly_by` unfiltered, `usage_hourly` filtered), kept as the rows are seeded
  in batches of 5,000, each rolled up in its own transaction as the spend writer does
  (store.rollup_writes), then vacuumed as autovacuum would.

Each query is sent once first (its time printed as `first`: the unfiltered hourly series
is then rendered from the rollup's rows, later ones only for the hours that changed), then
timed `--repeat` times in a row; the report prints p50 and p95 in milliseconds and whether
each meets its bar. Times include HTTP and JSON, as
the dashboard sees them. A loaded machine inflates them: repeat on a quiet one.

    .venv/bin/python -m bench.dashboard_queries [--rows 1000000] [--repeat 20] [--keep]
    .venv/bin/python -m bench.dashboard_queries --reuse gw_bench_dash_<hex>   # a kept one

`--reuse` measures a database kept by an earlier `--keep` run without seeding it again (the
gateway migrates it first, so a new rollup is backfilled from its rows); it is kept.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import yaml
from llm_proxy.store.models import RequestLog
from llm_proxy.store.rollup_writes import add_logged
from psycopg import sql
from sqlalchemy import create_engine, func, select

from bench.processes import free_port, start, wait_ready

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
MASTER = "sk-bench-dashboard-master"
LOGS_BAR_MS = 50.0
SERIES_BAR_MS = 100.0

_SEED_BATCH = 5000

# Rows are generated in SQL: row i starts i * (30 days / N) before the newest.
_SEED = """
INSERT INTO request_log (
    request_id, started_at, finished_at, api, key_id, team_id, user_id,
    model_requested, model_routed, provider, deployment, prompt_tokens, completion_tokens,
    cached_tokens, cost_usd, cost_saved_usd, latency_ms, ttft_ms, status, error_type,
    stream, cache_hit, fallback_used, attempts, router_score, routed_from, router,
    router_threshold, cost_strong_usd, trace_id, stage_timings, tags)
SELECT
    'bench-' || i,
    %(newest)s - (i * %(step)s) * interval '1 millisecond',
    %(newest)s - (i * %(step)s - 50 - i %% 900) * interval '1 millisecond',
    'chat',
    'key_bench_' || (i %% 50),
    'team_bench_' || (i %% 10),
    'user_bench_' || (i %% 200),
    (ARRAY['gpt-4o-mini','gpt-4o','claude-sonnet-4-5','llama-3.1-8b','auto'])[1 + i %% 5],
    (ARRAY['gpt-4o-mini','gpt-4o','claude-sonnet-4-5','llama-3.1-8b','gpt-4o-mini'])[1 + i %% 5],
    (ARRAY['openai','anthropic','vllm'])[1 + i %% 3],
    'dep-' || (i %% 7),
    100 + i %% 2000, 20 + i %% 500, 0,
    (i %% 1000) * 0.00001,
    CASE WHEN i %% 10 = 0 THEN 0.001 ELSE 0 END,
    50 + (i::bigint * 7919) %% 900,
    CASE WHEN i %% 4 = 0 THEN 20 + i %% 300 ELSE NULL END,
    CASE WHEN i %% 97 = 0 THEN 502 WHEN i %% 31 = 0 THEN 429 ELSE 200 END,
    CASE WHEN i %% 97 = 0 THEN 'upstream_error' WHEN i %% 31 = 0 THEN 'rate_limited' END,
    i %% 4 = 0, i %% 10 = 0, i %% 33 = 0, 1 + (i %% 33 = 0)::int,
    CASE WHEN i %% 5 = 4 THEN 0.42 END,
    CASE WHEN i %% 5 = 4 THEN 'auto' END,
    CASE WHEN i %% 5 = 4 THEN 'minilm' END,
    CASE WHEN i %% 5 = 4 THEN 0.5 END,
    CASE WHEN i %% 5 = 4 THEN (i %% 1000) * 0.00003 END,
    md5(i::text),
    '{"identify": 0.02, "route": 0.01, "dispatch": 40.0}'::jsonb,
    '[]'::jsonb
FROM generate_series(%(first)s::int, %(last)s::int) AS i
"""

LOG_FILTERS: dict[str, dict[str, str]] = {
    "none": {},
    "key_id": {"key_id": "key_bench_7"},
    "team_id": {"team_id": "team_bench_3"},
    "user_id": {"user_id": "user_bench_42"},
    "model": {"model": "claude-sonnet-4-5"},
    "provider": {"provider": "anthropic"},
    "status=error": {"status": "error"},
    "status=5xx": {"status": "5xx"},
    "status=429": {"status": "429"},
    "cache=hit": {"cache": "hit"},
    "cache=miss": {"cache": "miss"},
    "route=auto": {"route": "auto"},
    "route=fallback": {"route": "fallback"},
    "route=direct": {"route": "direct"},
    "order=asc": {"order": "asc"},
    "key+status=error": {"key_id": "key_bench_7", "status": "error"},
    "last hour": {},  # since/until filled in at run time
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="DATABASE", help="measure a kept database, unseeded")
    args = parser.parse_args()
    name = args.reuse or f"gw_bench_dash_{secrets.token_hex(4)}"
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    if args.reuse is None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-dash-") as work:
            run(Path(work), url, name, args.rows if args.reuse is None else 0, args.repeat)
    finally:
        if not args.keep and args.reuse is None:
            with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
                connection.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        else:
            print(f"kept database {name}")


def run(work: Path, url: str, database: str, rows: int, repeat: int) -> None:
    config = {
        "database": {"url": url},
        "spend": {"spool_dir": str(work / "spool")},
        "backends": [
            {
                "name": "sim",
                "provider": "simulator",
                "endpoint": "http://127.0.0.1:9/v1",
                "model": "gpt-4o-mini",
            }
        ],
    }
    path = work / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    env = {"GATEWAY_MASTER_KEY": MASTER, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    argv = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path), "--port", str(port)]
    server = start("gateway", argv, cores=set(range(os.cpu_count() or 1)), log_dir=work, env=env)
    try:
        wait_ready(server, f"http://127.0.0.1:{port}/ready", 180)  # migrates the schema first
        if rows:
            newest = datetime.now(UTC).replace(microsecond=0)
            began = time.monotonic()
            seed(database, rows, newest)
            print(f"seeded {rows:,} rows in {time.monotonic() - began:.1f} s")
        else:
            newest = newest_logged(database)
            print(f"reusing {database}: newest row {newest.isoformat()}")
        measure(f"http://127.0.0.1:{port}", newest, repeat)
    finally:
        server.stop()


def seed(database: str, rows: int, newest: datetime) -> None:
    step_ms = timedelta(days=30).total_seconds() * 1000 / rows
    engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}")
    try:
        # In batches, each its own transaction with its rollup, as the spend writer
        # commits: one upsert per group and hour per batch (store.rollup_writes).
        for first in range(0, rows, _SEED_BATCH):
            last = min(first + _SEED_BATCH, rows) - 1
            values = {"newest": newest, "step": step_ms, "first": first, "last": last}
            with engine.begin() as connection:
                before = connection.scalar(select(func.coalesce(func.max(RequestLog.id), 0)))
                connection.exec_driver_sql(_SEED, values)
                add_logged(connection, RequestLog.id > before)
    finally:
        engine.dispose()
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={database}") as connection:
        connection.autocommit = True
        # What autovacuum does in a running deployment.
        connection.execute("VACUUM ANALYZE request_log")
        connection.execute("VACUUM ANALYZE usage_hourly")
        connection.execute("VACUUM ANALYZE usage_hourly_by")


def newest_logged(database: str) -> datetime:
    """The newest seeded row's start: the series are measured over the 30 days before it."""
    with psycopg.connect(f"host=127.0.0.1 port=5432 user=postgres dbname={database}") as connection:
        found = connection.execute("SELECT max(started_at) FROM request_log").fetchone()
    if found is None or found[0] is None:
        raise SystemExit(f"{database} has no request_log rows: seed it without --reuse")
    newest: datetime = found[0]
    return newest.replace(microsecond=0) + timedelta(seconds=1)


def measure(base: str, newest: datetime, repeat: int) -> None:
    headers = {"authorization": f"Bearer {MASTER}"}
    failures = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        print(f"\n/admin/logs, first page of 50 (bar p95 <= {LOGS_BAR_MS:.0f} ms)")
        for label, params in LOG_FILTERS.items():
            if label == "last hour":
                params = {"since": (newest - timedelta(hours=1)).isoformat()}
            timings = timed(client, "/admin/logs", {**params, "limit": "50"}, repeat)
            failures += report(label, *timings, LOGS_BAR_MS)
        since = (newest - timedelta(days=30)).isoformat()
        print(f"\n/admin/usage/timeseries, 30 days hourly (bar p95 <= {SERIES_BAR_MS:.0f} ms)")
        for group in ("none", "team", "key", "model", "provider"):
            params = {
                "since": since,
                "until": newest.isoformat(),
                "interval": "1h",
                "group_by": group,
            }
            timings = timed(client, "/admin/usage/timeseries", params, repeat)
            failures += report(f"group_by={group}", *timings, SERIES_BAR_MS)
    print(f"\n{len(failures)} over their bar: {', '.join(failures) or 'none'}")


def timed(
    client: httpx.Client, path: str, params: dict[str, str], repeat: int
) -> tuple[float, float, float]:
    """The first request's time (cold: nothing kept yet), then the p50 and p95 of the rest."""
    began = time.perf_counter()
    client.get(path, params=params).raise_for_status()  # warm: plans and caches
    first = (time.perf_counter() - began) * 1000
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        client.get(path, params=params).raise_for_status()
        samples.append((time.perf_counter() - began) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, int(0.95 * len(samples)))]
    return first, statistics.median(samples), p95


def report(label: str, first: float, p50: float, p95: float, bar: float) -> list[str]:
    verdict = "ok" if p95 <= bar else "OVER"
    print(
        f"  {label:<20} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   {verdict}   (first {first:.1f} ms)"
    )
    return [] if p95 <= bar else [label]


if __name__ == "__main__":
    main()
