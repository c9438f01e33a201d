"""The data layer in process: migrations (Postgres and SQLite), keys and the spend writer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from llm_proxy.config.models import GatewayConfig, Spend
from llm_proxy.identity import Identity
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.log import record_of
from llm_proxy.spend import SpendLog
from llm_proxy.store.database import Database, alembic_config
from llm_proxy.store.directory import Directory
from llm_proxy.store.keys import create_key, revoke_key
from llm_proxy.store.models import Base, RequestLog, Team, new_id, usage_hourly, usage_hourly_by
from llm_proxy.store.request_log import RECORD_DEFAULTS, RequestRecord, totals_by_scope
from llm_proxy.store.rollup_writes import add_logged
from sqlalchemy import MetaData, Table, create_engine, func, insert, select
from sqlalchemy.engine import Connection

from tests.support.databases import scratch_database

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    with scratch_database("control_store") as url:
        yield url


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}")
    await database.upgrade()
    yield database
    await database.close()


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection)
    return list(compare_metadata(context, Base.metadata))


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
async def test_concurrent_migrations_build_exactly_the_models(
    backend: str, fresh_postgres: str, tmp_path: Path
) -> None:
    url = fresh_postgres if backend == "postgres" else f"sqlite+aiosqlite:///{tmp_path}/m.db"
    replicas = [Database(url) for _ in range(3)]
    await asyncio.gather(*(replica.upgrade() for replica in replicas))
    async with replicas[0].engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    for replica in replicas:
        await replica.close()


@pytest.mark.parametrize("backend", ["postgres", "sqlite"])
def test_the_usage_rollup_sums_what_was_logged_before_it_and_after(
    backend: str, fresh_postgres: str, tmp_path: Path
) -> None:
    url = fresh_postgres if backend == "postgres" else f"sqlite:///{tmp_path}/r.db"
    engine = create_engine(url)
    hour = datetime(2026, 3, 1, 10, tzinfo=UTC)

    def logged(i: int, status: int = 200, parent: str | None = None) -> dict[str, object]:
        record = RequestRecord(
            request_id=f"r{i}",
            started_at=hour + timedelta(minutes=i),
            finished_at=hour + timedelta(minutes=i, seconds=1),
            api="chat",
            latency_ms=100.0 * (i + 1),
            status=status,
            team_id="team_a",
            cost_usd=0.5,
            parent_request_id=parent,
        )
        return {**RECORD_DEFAULTS, **record}  # every column: this insert is SQLAlchemy's

    def rollup(connection: Connection) -> list[tuple[object, ...]]:
        columns = usage_hourly.c
        query = select(columns.hour_s, columns.requests, columns.errors, columns.cost_usd)
        return [tuple(row) for row in connection.execute(query)]

    def views(connection: Connection) -> list[tuple[object, ...]]:
        """The per-dimension rollup: one row per view of the hour, the same sums."""
        columns = usage_hourly_by.c
        query = select(columns.dim, columns.value, columns.requests, columns.errors).order_by(
            columns.dim
        )
        return [tuple(row) for row in connection.execute(query)]

    def log(connection: Connection, *rows: dict[str, object]) -> None:
        """Inserts records as the schema at this revision has them (later revisions add
        columns: a record of today's model would not fit an older table)."""
        table = Table("request_log", MetaData(), autoload_with=connection)
        kept = [{k: v for k, v in row.items() if k in table.c} for row in rows]
        connection.execute(insert(table), kept)

    def each_view(requests: int) -> list[tuple[object, ...]]:
        # No key, provider or model was logged: those views' value is ''.
        dims = [("key", ""), ("model", ""), ("none", ""), ("provider", ""), ("team", "team_a")]
        return [(dim, value, requests, 1) for dim, value in dims]

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0017")
        log(connection, logged(0), logged(1, status=500))
        # A sub-call is counted on its parent only.
        log(connection, logged(2, parent="r0"))
        command.upgrade(config, "0020")
        assert rollup(connection) == [(int(hour.timestamp()), 2, 1, 1.0)]
        log(connection, logged(3))
        command.upgrade(config, "0021")  # 0021 sums usage_hourly's rows once
        assert rollup(connection) == [(int(hour.timestamp()), 3, 1, 1.5)]
        assert views(connection) == each_view(3)
        log(connection, logged(4), logged(5, parent="r4"))
        assert rollup(connection) == [(int(hour.timestamp()), 4, 1, 2.0)]
        assert views(connection) == each_view(4)
        # From 0022 the log's insert keeps the rollups (insert_records): a bare insert adds
        # nothing to them, and add_logged sums such rows as a restore does.
        command.upgrade(config, "head")
        log(connection, logged(6), logged(7, parent="r6"))
        assert rollup(connection) == [(int(hour.timestamp()), 4, 1, 2.0)]
        add_logged(connection, RequestLog.request_id.in_(["r6", "r7"]))
        assert rollup(connection) == [(int(hour.timestamp()), 5, 1, 2.5)]
        assert views(connection) == each_view(5)
        # Down to 0021 the trigger is back.
        command.downgrade(config, "0021")
        log(connection, logged(8))
        assert rollup(connection) == [(int(hour.timestamp()), 6, 1, 3.0)]
    engine.dispose()


def _config() -> GatewayConfig:
    backend = {"name": "b", "provider": "openai", "model": "gpt-4o-mini"}
    return GatewayConfig.model_validate({"backends": [backend], "auth": {"key_cache_ttl_s": 60}})


async def test_keys_resolve_from_the_cache_and_revocation_clears_it(sqlite: Database) -> None:
    directory = Directory(sqlite, _config())
    async with sqlite.session() as session:
        team = Team(id=new_id("team"), name="t", rpm=10)
        session.add(team)
        key, secret = create_key(session, {"team_id": team.id, "tpm": 500})
        await session.commit()
    grant = await directory.key_by_secret(secret.plaintext)
    assert grant is not None and grant.refusal is None
    assert grant.identity.key_id == key.id and grant.identity.team_id == team.id
    scopes = {scope.scope: scope for scope in grant.identity.scopes}
    assert scopes["key"].tpm == 500 and scopes["team"].rpm == 10
    assert await directory.key_by_secret("sk-gw-unknown") is None
    async with sqlite.session() as session:
        stored = await session.get(type(key), key.id)
        assert stored is not None
        revoke_key(stored)
        await session.commit()
    cached = await directory.key_by_secret(secret.plaintext)
    assert cached is not None and cached.refusal is None  # the cache still holds it…
    await directory.changed()  # …until a change is announced
    revoked = await directory.key_by_secret(secret.plaintext)
    assert revoked is not None and revoked.refusal == "This API key has been revoked."


async def test_the_spend_writer_is_idempotent_by_request_id(
    sqlite: Database, tmp_path: Path
) -> None:
    writer = SpendLog(sqlite, Spend(spool_dir=str(tmp_path / "spool"), flush_interval_ms=10))
    writer.start()
    now = datetime.now(UTC)
    for request_id in ("a", "b", "a"):
        writer.record(
            RequestRecord(
                request_id=request_id,
                started_at=now - timedelta(milliseconds=5),
                finished_at=now,
                api="chat",
                latency_ms=5.0,
                status=200,
            )
        )
    await writer.close()
    async with sqlite.session() as session:
        count = await session.scalar(select(func.count(RequestLog.id)))
    assert count == 2 and writer.spooled == 0


def test_a_cache_hit_is_logged_with_what_it_saved() -> None:
    ctx = RequestContext(request_id="req_hit", api="chat", body=dict(BODY), headers={})
    ctx.identity = Identity(key_id="key_x", team_id="team_x")
    ctx.cache_result, ctx.cost_saved_usd = "semantic;sim=0.97", 0.25
    hit = record_of(ctx)
    assert hit["cache_hit"] and hit["cost_saved_usd"] == 0.25 and hit["cost_usd"] == 0.0
    assert hit["key_id"] == "key_x" and hit["team_id"] == "team_x" and hit["error_type"] is None
    ctx.cache_result, ctx.status = "miss", 499
    missed = record_of(ctx)
    assert not missed["cache_hit"] and missed["error_type"] == "client_disconnected"


async def test_totals_by_scope_feed_a_counter_rebuild(sqlite: Database, tmp_path: Path) -> None:
    writer = SpendLog(sqlite, Spend(spool_dir=str(tmp_path / "spool")))
    writer.start()
    now = datetime.now(UTC)
    for i, (key, team) in enumerate([("k1", "t1"), ("k1", "t1"), ("k2", "t1"), ("k3", None)]):
        writer.record(
            RequestRecord(
                request_id=f"r{i}",
                started_at=now,
                finished_at=now,
                api="chat",
                latency_ms=1.0,
                status=200,
                key_id=key,
                team_id=team,
                prompt_tokens=10,
                completion_tokens=5,
                cost_usd=0.5,
            )
        )
    await writer.close()
    async with sqlite.session() as session:
        found = await totals_by_scope(session, now - timedelta(days=1))
        later = await totals_by_scope(session, now + timedelta(seconds=1))
    by_owner = {(t.scope, t.scope_id): t.totals for t in found}
    assert by_owner[("team", "t1")].requests == 3 and by_owner[("team", "t1")].tokens == 45
    assert by_owner[("key", "k1")].cost_usd == 1.0 and ("user", "k1") not in by_owner
    assert len(by_owner) == 4 and later == []
