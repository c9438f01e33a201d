"""Per-dimension hourly rollup: the request log summed per hour and one dimension at a time.

`usage_hourly_by` holds, per hour, the same sums as `usage_hourly` for each of five views:
`dim` none (everything, `value` ''), team, key, model (the one that answered, else the one
asked for) and provider. The trigger that keeps `usage_hourly` now also upserts these five
rows, in one statement, for each inserted record that is no one's sub-call; the rows already
logged are summed here once, from `usage_hourly` (the same sums, far fewer rows).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_BOUNDS_MS = (
    10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000,
    1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000, 120000,
)  # fmt: skip
_BUCKETS = [f"latency_b{i:02d}" for i in range(len(_BOUNDS_MS) + 1)]
_COUNTS = ["requests", "errors", "prompt_tokens", "completion_tokens", "cost_usd", "cache_hits"]
_SUMS = [*_COUNTS, "cache_saved_usd", "routing_saved_usd", *_BUCKETS]
_DIMENSIONS = ["hour_s", "team_id", "key_id", "model_requested", "model_routed", "provider"]
# Each view's value over a row of `usage_hourly` (or NEW in the trigger, same names after
# COALESCE to ''): what the series groups by.
_VIEWS = {
    "none": "''",
    "team": "{r}.team_id",
    "key": "{r}.key_id",
    "model": "CASE WHEN {r}.model_routed <> '' THEN {r}.model_routed ELSE {r}.model_requested END",
    "provider": "{r}.provider",
}


def upgrade() -> None:
    op.create_table(
        "usage_hourly_by",
        sa.Column("dim", sa.String(length=8), nullable=False),
        sa.Column("hour_s", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        *(sa.Column(name, _sum_type(name), nullable=False) for name in _SUMS),
        sa.Column("latency_min_ms", sa.Float(), nullable=False),
        sa.Column("latency_max_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("dim", "hour_s", "value", name="pk_usage_hourly_by"),
        postgresql_with={"fillfactor": 50},
    )
    op.execute(_backfill())
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_function(_upserts(postgres)))
    else:
        op.execute("DROP TRIGGER request_log_usage_hourly")
        op.execute(_sqlite_trigger(_upserts(postgres)))


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(_function(_upserts(postgres)[:1]))
    else:
        op.execute("DROP TRIGGER request_log_usage_hourly")
        op.execute(_sqlite_trigger(_upserts(postgres)[:1]))
    op.drop_table("usage_hourly_by")


def _sum_type(name: str) -> sa.types.TypeEngine[float] | sa.types.TypeEngine[int]:
    if name.endswith("_usd"):
        return sa.Float()
    return sa.BigInteger() if name.endswith("_tokens") else sa.Integer()


def _values(postgres: bool) -> dict[str, str]:
    """One record's contribution (NEW), as 0018's trigger computes it."""
    hour = (
        "CAST(floor(extract(epoch FROM NEW.started_at) / 3600) * 3600 AS BIGINT)"
        if postgres
        else "CAST(strftime('%s', NEW.started_at) AS INTEGER) / 3600 * 3600"
    )
    true = "TRUE" if postgres else "1"
    buckets = {}
    for i, name in enumerate(_BUCKETS):
        low = f"NEW.latency_ms >= {_BOUNDS_MS[i - 1]}" if i else None
        high = f"NEW.latency_ms < {_BOUNDS_MS[i]}" if i < len(_BOUNDS_MS) else None
        buckets[name] = f"CASE WHEN {' AND '.join(c for c in (low, high) if c)} THEN 1 ELSE 0 END"
    return {
        "hour_s": hour,
        **{name: f"COALESCE(NEW.{name}, '')" for name in _DIMENSIONS[1:]},
        "requests": "1",
        "errors": "CASE WHEN NEW.status >= 400 THEN 1 ELSE 0 END",
        "prompt_tokens": "COALESCE(NEW.prompt_tokens, 0)",
        "completion_tokens": "COALESCE(NEW.completion_tokens, 0)",
        "cost_usd": "COALESCE(NEW.cost_usd, 0)",
        "cache_hits": f"CASE WHEN NEW.cache_hit = {true} THEN 1 ELSE 0 END",
        "cache_saved_usd": "COALESCE(NEW.cost_saved_usd, 0)",
        "routing_saved_usd": "COALESCE(NEW.cost_strong_usd - NEW.cost_usd, 0)",
        "latency_min_ms": "NEW.latency_ms",
        "latency_max_ms": "NEW.latency_ms",
        **buckets,
    }


def _upserts(postgres: bool) -> list[str]:
    """0018's upsert into usage_hourly, then one upsert of the five views' rows."""
    values = _values(postgres)
    least, greatest = ("LEAST", "GREATEST") if postgres else ("min", "max")

    def on_conflict(table: str, key: list[str]) -> str:
        updates = [f"{n} = {table}.{n} + excluded.{n}" for n in _SUMS]
        updates += [
            f"latency_min_ms = {least}({table}.latency_min_ms, excluded.latency_min_ms)",
            f"latency_max_ms = {greatest}({table}.latency_max_ms, excluded.latency_max_ms)",
        ]
        return f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)};"

    sums = [n for n in values if n not in _DIMENSIONS]
    # The views read the dimensions as stored ('' for NULL): COALESCEd like the columns.
    named = {n: values[n] for n in _DIMENSIONS[1:]}
    rows = []
    for dim, expression in _VIEWS.items():
        value = expression.format(r="NEW")
        for name, coalesced in named.items():
            value = value.replace(f"NEW.{name}", coalesced)
        rows.append(f"('{dim}', {values['hour_s']}, {value}, {', '.join(values[n] for n in sums)})")
    return [
        f"INSERT INTO usage_hourly ({', '.join(values)}) VALUES ({', '.join(values.values())}) "
        + on_conflict("usage_hourly", _DIMENSIONS),
        f"INSERT INTO usage_hourly_by (dim, hour_s, value, {', '.join(sums)}) "
        f"VALUES {', '.join(rows)} " + on_conflict("usage_hourly_by", ["dim", "hour_s", "value"]),
    ]


def _function(statements: list[str]) -> str:
    return (
        "CREATE OR REPLACE FUNCTION usage_hourly_add() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN {' '.join(statements)} RETURN NULL; END $$"
    )


def _sqlite_trigger(statements: list[str]) -> str:
    return (
        "CREATE TRIGGER request_log_usage_hourly AFTER INSERT ON request_log "
        f"FOR EACH ROW WHEN (NEW.parent_request_id IS NULL) BEGIN {' '.join(statements)} END"
    )


def _backfill() -> str:
    sums = ", ".join(f"SUM({n})" for n in _SUMS)
    selects = []
    for dim, expression in _VIEWS.items():
        value = expression.format(r="usage_hourly")
        # Postgres refuses a constant in GROUP BY: the view of everything groups by hour.
        grouped = "hour_s" if dim == "none" else f"hour_s, {value}"
        selects.append(
            f"SELECT '{dim}', hour_s, {value}, {sums}, MIN(latency_min_ms), MAX(latency_max_ms) "
            f"FROM usage_hourly GROUP BY {grouped}"
        )
    return (
        f"INSERT INTO usage_hourly_by (dim, hour_s, value, {', '.join(_SUMS)}, "
        f"latency_min_ms, latency_max_ms) " + " UNION ALL ".join(selects)
    )
