"""Request log: which guardrail checks fired and what they did (never the matched text).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        json = sa.JSON().with_variant(JSONB(), "postgresql")
        # Rows from before carry an empty list, as rows without hits do.
        column = sa.Column("guardrails", json, nullable=False, server_default=sa.text("'[]'"))
        table.add_column(column)


def downgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.drop_column("guardrails")
