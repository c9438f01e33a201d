"""Organizations, teams, users, budgets, virtual keys, admin tokens and the request log.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# Frozen copies of the model's column types: a migration must not change when models do.
_TIME = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "admin_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("token_prefix", sa.String(length=20), nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_admin_tokens_token_hash")),
    )
    op.create_table(
        "budgets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("usd_daily", sa.Float(), nullable=True),
        sa.Column("usd_monthly", sa.Float(), nullable=True),
        sa.Column("tokens_daily", sa.BigInteger(), nullable=True),
        sa.Column("tokens_monthly", sa.BigInteger(), nullable=True),
        sa.Column("alert_thresholds", _JSON, nullable=False),
        sa.Column("auto_downgrade_to", sa.String(length=200), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
        sa.UniqueConstraint("name", name=op.f("uq_budgets_name")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("name", name=op.f("uq_organizations_name")),
    )
    op.create_table(
        "request_log",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("started_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=False),
        sa.Column("api", sa.String(length=16), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("team_id", sa.String(length=40), nullable=True),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("model_requested", sa.String(length=200), nullable=True),
        sa.Column("model_routed", sa.String(length=200), nullable=True),
        sa.Column("provider", sa.String(length=64), nullable=True),
        sa.Column("deployment", sa.String(length=200), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cached_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("error_type", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.String(length=1000), nullable=True),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("cache_hit", sa.Boolean(), nullable=False),
        sa.Column("fallback_used", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("router_score", sa.Float(), nullable=True),
        sa.Column("parent_request_id", sa.String(length=128), nullable=True),
        sa.Column("trace_id", sa.String(length=64), nullable=True),
        sa.Column("prompt_hash", sa.String(length=64), nullable=True),
        sa.Column("stage_timings", _JSON, nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_request_log")),
        sa.UniqueConstraint("request_id", name=op.f("uq_request_log_request_id")),
    )
    op.create_index(
        "ix_request_log_key_started", "request_log", ["key_id", "started_at"], unique=False
    )
    op.create_index("ix_request_log_parent", "request_log", ["parent_request_id"], unique=False)
    op.create_index("ix_request_log_started_at", "request_log", ["started_at"], unique=False)
    op.create_index(
        "ix_request_log_team_started", "request_log", ["team_id", "started_at"], unique=False
    )
    op.create_index(
        "ix_request_log_user_started", "request_log", ["user_id", "started_at"], unique=False
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=True),
        sa.Column("budget_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.Integer(), nullable=True),
        sa.Column("input_tpm", sa.Integer(), nullable=True),
        sa.Column("output_tpm", sa.Integer(), nullable=True),
        sa.Column("tpd", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("fk_teams_budget_id_budgets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_teams_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_index(op.f("ix_teams_organization_id"), "teams", ["organization_id"], unique=False)
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("team_id", sa.String(length=40), nullable=True),
        sa.Column("budget_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.Integer(), nullable=True),
        sa.Column("input_tpm", sa.Integer(), nullable=True),
        sa.Column("output_tpm", sa.Integer(), nullable=True),
        sa.Column("tpd", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("fk_users_budget_id_budgets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_users_team_id_teams"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_index(op.f("ix_users_team_id"), "users", ["team_id"], unique=False)
    op.create_table(
        "virtual_keys",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=True),
        sa.Column("previous_expires_at", _TIME, nullable=True),
        sa.Column("team_id", sa.String(length=40), nullable=True),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("budget_id", sa.String(length=40), nullable=True),
        sa.Column("allowed_models", _JSON, nullable=False),
        sa.Column("default_model", sa.String(length=200), nullable=True),
        sa.Column("max_tokens_cap", sa.Integer(), nullable=True),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("metadata", _JSON, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("rotated_at", _TIME, nullable=True),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("rpm", sa.Integer(), nullable=True),
        sa.Column("tpm", sa.Integer(), nullable=True),
        sa.Column("input_tpm", sa.Integer(), nullable=True),
        sa.Column("output_tpm", sa.Integer(), nullable=True),
        sa.Column("tpd", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["budget_id"],
            ["budgets.id"],
            name=op.f("fk_virtual_keys_budget_id_budgets"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_virtual_keys_team_id_teams"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_virtual_keys_user_id_users"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_virtual_keys_key_hash")),
    )
    op.create_index(
        op.f("ix_virtual_keys_previous_hash"), "virtual_keys", ["previous_hash"], unique=False
    )
    op.create_index(op.f("ix_virtual_keys_team_id"), "virtual_keys", ["team_id"], unique=False)
    op.create_index(op.f("ix_virtual_keys_user_id"), "virtual_keys", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_virtual_keys_user_id"), table_name="virtual_keys")
    op.drop_index(op.f("ix_virtual_keys_team_id"), table_name="virtual_keys")
    op.drop_index(op.f("ix_virtual_keys_previous_hash"), table_name="virtual_keys")
    op.drop_table("virtual_keys")
    op.drop_index(op.f("ix_users_team_id"), table_name="users")
    op.drop_table("users")
    op.drop_index(op.f("ix_teams_organization_id"), table_name="teams")
    op.drop_table("teams")
    op.drop_index("ix_request_log_user_started", table_name="request_log")
    op.drop_index("ix_request_log_team_started", table_name="request_log")
    op.drop_index("ix_request_log_started_at", table_name="request_log")
    op.drop_index("ix_request_log_parent", table_name="request_log")
    op.drop_index("ix_request_log_key_started", table_name="request_log")
    op.drop_table("request_log")
    op.drop_table("organizations")
    op.drop_table("budgets")
    op.drop_table("admin_tokens")
