"""The request log's indexes on columns most rows leave NULL hold only the rows that set them.

A key, team, user, session, parent, client id or shadow: a request without one no longer
adds an entry to that index (eight index inserts a row before; five fewer for a request
without a key).
Every query on these columns compares them to a value or asks IS NOT NULL, which both
databases read as implying the index's condition, so each keeps its index.

Revision ID: 0023
Revises: 0022
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

# name: columns (the first one is the one rows may leave NULL)
_INDEXES = {
    "ix_request_log_key_started": ["key_id", "started_at"],
    "ix_request_log_team_started": ["team_id", "started_at"],
    "ix_request_log_user_started": ["user_id", "started_at"],
    "ix_request_log_parent": ["parent_request_id"],
    "ix_request_log_client_request": ["client_request_id"],
    "ix_request_log_session_started": ["session_id", "started_at"],
    "ix_request_log_shadow_of": ["shadow_of"],
}


def upgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="request_log")
        present = sa.text(f"{columns[0]} IS NOT NULL")
        op.create_index(
            name, "request_log", columns, sqlite_where=present, postgresql_where=present
        )


def downgrade() -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="request_log")
        op.create_index(name, "request_log", columns)
