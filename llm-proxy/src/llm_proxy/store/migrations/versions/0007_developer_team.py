"""Admin tokens: the team a developer token manages the keys of.

A developer token without one (issued before this revision) manages no key until an admin
issues it anew with a team.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("admin_tokens") as table:
        table.add_column(sa.Column("team_id", sa.String(40), nullable=True))
        table.create_foreign_key(
            "fk_admin_tokens_team_id_teams", "teams", ["team_id"], ["id"], ondelete="RESTRICT"
        )


def downgrade() -> None:
    with op.batch_alter_table("admin_tokens") as table:
        table.drop_constraint("fk_admin_tokens_team_id_teams", type_="foreignkey")
        table.drop_column("team_id")
