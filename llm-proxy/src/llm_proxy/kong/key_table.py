"""Which virtual keys Kong should accept, read from the key table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from llm_proxy.kong.consumers import KongConsumer, kong_consumer
from llm_proxy.store.database import Database
from llm_proxy.store.models import VirtualKey


async def usable_consumers(database: Database, now: datetime) -> list[KongConsumer]:
    """Active keys that have not expired, in key-id order (so a render is reproducible)."""
    query = (
        select(VirtualKey)
        .where(VirtualKey.status == "active", VirtualKey.revoked_at.is_(None))
        .where(or_(VirtualKey.expires_at.is_(None), VirtualKey.expires_at > now))
        .order_by(VirtualKey.id)
    )
    async with database.session() as session:
        keys = (await session.scalars(query)).all()
    return [_consumer(key, now) for key in keys]


def _consumer(key: VirtualKey, now: datetime) -> KongConsumer:
    in_grace = key.previous_expires_at is not None and key.previous_expires_at > now
    return kong_consumer(
        key.id,
        key.key_hash,
        expires_at=key.expires_at,
        previous_digest=key.previous_hash if in_grace else None,
        previous_expires_at=key.previous_expires_at if in_grace else None,
    )
