"""Request log: the caller's x-request-id as a correlation field of its own.

The gateway now names every request itself (`request_id`, the key records are
deduplicated on); what a client sent as `x-request-id` is kept, clipped, beside it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("client_request_id", sa.String(128), nullable=True))
        table.create_index("ix_request_log_client_request", ["client_request_id"])


def downgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.drop_index("ix_request_log_client_request")
        table.drop_column("client_request_id")
