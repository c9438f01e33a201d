"""Opted-in tenants' prompts, redacted and sealed, beside their request log rows.

A table of its own: altering request_log on SQLite (batch_alter_table copies the table)
would drop the usage_hourly trigger (0018).

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_log",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name="pk_prompt_log"),
    )
    op.create_index("ix_prompt_log_key_id", "prompt_log", ["key_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_prompt_log_key_id", table_name="prompt_log")
    op.drop_table("prompt_log")
