"""Hedged requests in the request log: where else each was sent, and what sent it.

Plain ADD COLUMNs: on SQLite a batch_alter_table would copy the table and drop the
usage_hourly trigger (0018).

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("request_log", sa.Column("hedged_to", sa.String(length=400), nullable=True))
    op.add_column("request_log", sa.Column("hedge_trigger", sa.String(length=32), nullable=True))


def downgrade() -> None:
    op.drop_column("request_log", "hedge_trigger")
    op.drop_column("request_log", "hedged_to")
