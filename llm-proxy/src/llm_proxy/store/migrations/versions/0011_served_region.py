"""Request log: the region of the deployment that answered (residency policies).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("region", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        table.drop_column("region")
