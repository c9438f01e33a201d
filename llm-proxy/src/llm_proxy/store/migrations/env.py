"""Alembic's entry point: migrations run on the connection `Database.upgrade` hands over."""

from __future__ import annotations

from alembic import context
from llm_proxy.store.models import Base
from sqlalchemy.engine import Connection

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("run migrations through `llm-proxy db upgrade`, which supplies a connection")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
