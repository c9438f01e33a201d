"""Route inputs: what the router read of an auto request, kept for feedback to label.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "route_inputs",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("auto_group", sa.String(length=200), nullable=False),
        sa.Column("strong_model", sa.String(length=200), nullable=False),
        sa.Column("weak_model", sa.String(length=200), nullable=False),
        sa.Column("routed_model", sa.String(length=200), nullable=False),
        sa.Column("messages", _JSON, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_route_inputs")),
    )
    op.create_index(op.f("ix_route_inputs_expires_at"), "route_inputs", ["expires_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_route_inputs_expires_at"), table_name="route_inputs")
    op.drop_table("route_inputs")
