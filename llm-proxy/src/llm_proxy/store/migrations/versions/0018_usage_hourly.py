"""The usage rollup: the request log summed per hour and dimension, kept by a trigger.

`usage_hourly` holds, per hour, team, key, model asked for, model that answered and
provider: requests, errors, tokens, cost, cache hits and savings, routing savings, the
fastest and slowest latency and counts in fixed latency buckets. A row-level trigger on
request_log's inserts adds each inserted record that is no one's sub-call (an insert skipped
by ON CONFLICT fires nothing, so replays count once); the rows already logged are summed
here once. The bucket bounds are fixed in this revision (models.LATENCY_BOUNDS_MS).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_BOUNDS_MS = (
    10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000,
    1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000, 120000,
)  # fmt: skip
_BUCKETS = [f"latency_b{i:02d}" for i in range(len(_BOUNDS_MS) + 1)]
_DIMENSIONS = ["hour_s", "team_id", "key_id", "model_requested", "model_routed", "provider"]
_SUMS = [
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "cache_hits",
    "cache_saved_usd",
    "routing_saved_usd",
    *_BUCKETS,
]


def upgrade() -> None:
    text_columns = {"team_id": 40, "key_id": 40, "model_requested": 200, "model_routed": 200}
    op.create_table(
        "usage_hourly",
        sa.Column("hour_s", sa.BigInteger(), nullable=False),
        *(sa.Column(n, sa.String(length=w), nullable=False) for n, w in text_columns.items()),
        sa.Column("provider", sa.String(length=64), nullable=False),
        *(sa.Column(n, _sum_type(n), nullable=False) for n in _SUMS[:8]),
        sa.Column("latency_min_ms", sa.Float(), nullable=False),
        sa.Column("latency_max_ms", sa.Float(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in _BUCKETS),
        sa.PrimaryKeyConstraint(*_DIMENSIONS, name="pk_usage_hourly"),
        postgresql_with={"fillfactor": 50},
    )
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in _trigger(postgres):
        op.execute(statement)
    op.execute(_backfill(postgres))


def _sum_type(name: str) -> sa.types.TypeEngine[float] | sa.types.TypeEngine[int]:
    if name.endswith("_usd"):
        return sa.Float()
    return sa.BigInteger() if name.endswith("_tokens") else sa.Integer()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS request_log_usage_hourly ON request_log")
        op.execute("DROP FUNCTION IF EXISTS usage_hourly_add()")
    else:
        op.execute("DROP TRIGGER IF EXISTS request_log_usage_hourly")
    op.drop_table("usage_hourly")


def _values(row: str, postgres: bool) -> dict[str, str]:
    """One record's contribution, in SQL over `row` (NEW in the trigger, the table otherwise)."""
    hour = (
        f"CAST(floor(extract(epoch FROM {row}.started_at) / 3600) * 3600 AS BIGINT)"
        if postgres
        else f"CAST(strftime('%s', {row}.started_at) AS INTEGER) / 3600 * 3600"
    )
    true = "TRUE" if postgres else "1"
    latency = f"{row}.latency_ms"
    buckets = {}
    for i, name in enumerate(_BUCKETS):
        low = f"{latency} >= {_BOUNDS_MS[i - 1]}" if i else None
        high = f"{latency} < {_BOUNDS_MS[i]}" if i < len(_BOUNDS_MS) else None
        condition = " AND ".join(c for c in (low, high) if c)
        buckets[name] = f"CASE WHEN {condition} THEN 1 ELSE 0 END"
    return {
        "hour_s": hour,
        "team_id": f"COALESCE({row}.team_id, '')",
        "key_id": f"COALESCE({row}.key_id, '')",
        "model_requested": f"COALESCE({row}.model_requested, '')",
        "model_routed": f"COALESCE({row}.model_routed, '')",
        "provider": f"COALESCE({row}.provider, '')",
        "requests": "1",
        "errors": f"CASE WHEN {row}.status >= 400 THEN 1 ELSE 0 END",
        "prompt_tokens": f"COALESCE({row}.prompt_tokens, 0)",
        "completion_tokens": f"COALESCE({row}.completion_tokens, 0)",
        "cost_usd": f"COALESCE({row}.cost_usd, 0)",
        "cache_hits": f"CASE WHEN {row}.cache_hit = {true} THEN 1 ELSE 0 END",
        "cache_saved_usd": f"COALESCE({row}.cost_saved_usd, 0)",
        "routing_saved_usd": f"COALESCE({row}.cost_strong_usd - {row}.cost_usd, 0)",
        "latency_min_ms": latency,
        "latency_max_ms": latency,
        **buckets,
    }


def _upsert(postgres: bool) -> str:
    values = _values("NEW", postgres)
    least, greatest = ("LEAST", "GREATEST") if postgres else ("min", "max")
    updates = [f"{n} = usage_hourly.{n} + excluded.{n}" for n in _SUMS]
    updates += [
        f"latency_min_ms = {least}(usage_hourly.latency_min_ms, excluded.latency_min_ms)",
        f"latency_max_ms = {greatest}(usage_hourly.latency_max_ms, excluded.latency_max_ms)",
    ]
    return (
        f"INSERT INTO usage_hourly ({', '.join(values)}) VALUES ({', '.join(values.values())}) "
        f"ON CONFLICT ({', '.join(_DIMENSIONS)}) DO UPDATE SET {', '.join(updates)};"
    )


def _trigger(postgres: bool) -> list[str]:
    when = "WHEN (NEW.parent_request_id IS NULL)"
    if not postgres:
        return [
            f"CREATE TRIGGER request_log_usage_hourly AFTER INSERT ON request_log "
            f"FOR EACH ROW {when} BEGIN {_upsert(postgres)} END"
        ]
    return [
        "CREATE FUNCTION usage_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {_upsert(postgres)} RETURN NULL; END $$",
        "CREATE TRIGGER request_log_usage_hourly AFTER INSERT ON request_log "
        f"FOR EACH ROW {when} EXECUTE FUNCTION usage_hourly_add()",
    ]


def _backfill(postgres: bool) -> str:
    values = _values("request_log", postgres)
    sums = {n: f"SUM({values[n]})" for n in _SUMS}
    extremes = {
        "latency_min_ms": "MIN(request_log.latency_ms)",
        "latency_max_ms": "MAX(request_log.latency_ms)",
    }
    selected = {**{n: values[n] for n in _DIMENSIONS}, **sums, **extremes}
    return (
        f"INSERT INTO usage_hourly ({', '.join(selected)}) "
        f"SELECT {', '.join(selected.values())} FROM request_log "
        f"WHERE request_log.parent_request_id IS NULL "
        f"GROUP BY {', '.join(values[n] for n in _DIMENSIONS)}"
    )
