"""Request log: the auto-routing decision and what the strong model would have cost.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("routed_from", sa.String(200), nullable=True))
        table.add_column(sa.Column("router", sa.String(64), nullable=True))
        table.add_column(sa.Column("router_threshold", sa.Float(), nullable=True))
        table.add_column(sa.Column("cost_strong_usd", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        for column in ("cost_strong_usd", "router_threshold", "router", "routed_from"):
            table.drop_column(column)
