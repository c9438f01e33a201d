"""Virtual keys: issue, rotate and revoke. Each returns the row; issuing also the secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.credentials import KEY_PREFIX, IssuedSecret, issue
from llm_proxy.store.models import VirtualKey, new_id, utcnow
from llm_proxy.store.repository import assign


def create_key(session: AsyncSession, fields: dict[str, Any]) -> tuple[VirtualKey, IssuedSecret]:
    secret = issue(KEY_PREFIX)
    key = VirtualKey(id=new_id("key"), key_hash=secret.hash, key_prefix=secret.display_prefix)
    assign(key, fields)
    session.add(key)
    return key, secret


def rotate_key(key: VirtualKey, grace: timedelta) -> IssuedSecret:
    """A new secret for the same key (same id, limits, history); the old one lasts `grace`."""
    secret = issue(KEY_PREFIX)
    now = utcnow()
    key.previous_hash = key.key_hash
    key.previous_expires_at = now + grace
    key.key_hash = secret.hash
    key.key_prefix = secret.display_prefix
    key.rotated_at = now
    return secret


def revoke_key(key: VirtualKey) -> None:
    if key.status == "revoked":
        return
    key.status = "revoked"
    key.revoked_at = utcnow()
    # The replaced secret of a rotation dies with the key.
    key.previous_expires_at = None
