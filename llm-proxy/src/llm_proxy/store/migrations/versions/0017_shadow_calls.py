"""Shadow calls in the request log: the auto request each one judges.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("shadow_of", sa.String(length=128), nullable=True))
    op.create_index("ix_request_log_shadow_of", "request_log", ["shadow_of"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_request_log_shadow_of", table_name="request_log")
    with op.batch_alter_table("request_log") as table:
        table.drop_column("shadow_of")
