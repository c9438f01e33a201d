"""Request log: the agent session a request is a step of, and the tools its answer called.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("session_id", sa.String(128), nullable=True))
        table.add_column(sa.Column("tool_calls", _JSON, nullable=False, server_default="[]"))
    op.create_index("ix_request_log_session_started", "request_log", ["session_id", "started_at"])


def downgrade() -> None:
    op.drop_index("ix_request_log_session_started", table_name="request_log")
    with op.batch_alter_table("request_log") as table:
        table.drop_column("tool_calls")
        table.drop_column("session_id")
