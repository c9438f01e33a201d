"""The hourly rollups are kept by the spend writer's batches: the per-row trigger goes.

Until now a row-level trigger on request_log's inserts (0018, widened by 0021) upserted six
rollup rows per logged record, about 30 µs per record in the writer and a row updated per
record in every view. The writer now adds each batch's inserted records to usage_hourly and
usage_hourly_by itself, one upsert per group and hour, in the batch's transaction
(store.rollup_writes). The rollups' contents do not change here.

Replicas of an older version must be stopped before this revision is applied: the records
they log after it would reach the log but not the rollups.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

from alembic import context, op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS request_log_usage_hourly ON request_log")
        op.execute("DROP FUNCTION IF EXISTS usage_hourly_add()")
    else:
        op.execute("DROP TRIGGER IF EXISTS request_log_usage_hourly")


def downgrade() -> None:
    # 0021's trigger, as 0021 writes it (rows logged at this revision are in the rollups).
    previous = context.script.get_revision("0021")
    first = context.script.get_revision("0018")
    if previous is None or first is None:
        raise RuntimeError("revisions 0018 and 0021 are needed to restore the trigger")
    postgres = op.get_bind().dialect.name == "postgresql"
    statements = previous.module._upserts(postgres)
    if postgres:
        op.execute(previous.module._function(statements))
        op.execute(first.module._trigger(postgres)[1])  # the trigger calling that function
    else:
        op.execute(previous.module._sqlite_trigger(statements))
