"""Cascade escalations in the request log: the signal, the first model and its answer's cost.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("escalation", sa.String(length=32), nullable=True))
        table.add_column(sa.Column("escalated_from", sa.String(length=200), nullable=True))
        table.add_column(sa.Column("escalation_cost_usd", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.drop_column("escalation_cost_usd")
        table.drop_column("escalated_from")
        table.drop_column("escalation")
