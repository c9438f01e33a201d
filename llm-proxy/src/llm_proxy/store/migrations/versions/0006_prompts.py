"""Prompt templates and partials with versions and labels, feedback, prompt fields in the log.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen copies of the model's column types: a migration must not change when models do.
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompts",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("experiment", _JSON, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompts")),
        sa.UniqueConstraint("kind", "name", name="uq_prompts_kind_name"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("prompt_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", _JSON, nullable=False),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("params", _JSON, nullable=False),
        sa.Column("variables_schema", _JSON, nullable=True),
        sa.Column("comment", sa.String(length=1000), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_prompt_versions_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_versions")),
        sa.UniqueConstraint("prompt_id", "version", name="uq_prompt_versions_version"),
    )
    op.create_table(
        "prompt_labels",
        sa.Column("prompt_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_prompt_labels_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("prompt_id", "label", name=op.f("pk_prompt_labels")),
    )
    op.create_table(
        "prompt_label_moves",
        sa.Column("id", _SERIAL, autoincrement=True, nullable=False),
        sa.Column("prompt_id", sa.String(length=40), nullable=False),
        sa.Column("label", sa.String(length=36), nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=True),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(length=64), nullable=True),
        sa.Column("moved_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["prompt_id"],
            ["prompts.id"],
            name=op.f("fk_prompt_label_moves_prompt_id_prompts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prompt_label_moves")),
    )
    op.create_index("ix_prompt_label_moves_prompt", "prompt_label_moves", ["prompt_id", "label"])
    op.create_table(
        "feedback",
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("team_id", sa.String(length=40), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("comment", sa.String(length=2000), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_feedback")),
    )
    with op.batch_alter_table("request_log") as table:
        table.add_column(sa.Column("prompt_name", sa.String(64), nullable=True))
        table.add_column(sa.Column("prompt_version", sa.Integer(), nullable=True))
        table.add_column(sa.Column("prompt_variant", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("request_log") as table:
        for column in ("prompt_variant", "prompt_version", "prompt_name"):
            table.drop_column(column)
    op.drop_table("feedback")
    op.drop_index("ix_prompt_label_moves_prompt", table_name="prompt_label_moves")
    op.drop_table("prompt_label_moves")
    op.drop_table("prompt_labels")
    op.drop_table("prompt_versions")
    op.drop_table("prompts")
