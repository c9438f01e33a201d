"""Route labels: what a deployment learnt about its `auto` routing decisions, for training.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "route_labels",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("auto_group", sa.String(length=200), nullable=False),
        sa.Column("strong_model", sa.String(length=200), nullable=False),
        sa.Column("weak_model", sa.String(length=200), nullable=False),
        sa.Column("routed_model", sa.String(length=200), nullable=False),
        sa.Column("messages", _JSON, nullable=False),
        sa.Column("strong_wins", sa.Float(), nullable=False),
        sa.Column("detail", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_route_labels")),
        sa.UniqueConstraint("request_id", "source", name="uq_route_labels_request_id_source"),
    )
    op.create_index(op.f("ix_route_labels_created_at"), "route_labels", ["created_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_route_labels_created_at"), table_name="route_labels")
    op.drop_table("route_labels")
