"""Virtual keys as Kong consumers, with ids that do not change from one load to the next.

Kong gives a declarative keyauth credential a random id on every load unless it has one,
and that id reaches llm-proxy as `X-Credential-Identifier`; so every id here is a UUIDv5
of what it stands for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

# Fixed forever: changing it changes every consumer and credential id Kong knows.
_NAMESPACE = uuid.UUID("5b0c7d8e-3f6a-5c1e-9d2b-6a4e8f1c0b7d")
# Marks what llm-proxy manages, so a sync never removes consumers someone else added.
MANAGED_TAG = "llm-proxy"


@dataclass(frozen=True, slots=True)
class KongCredential:
    """One key-auth credential: `key` is the SHA-256 hex digest of the virtual key."""

    id: str
    key: str
    # When Kong must stop accepting it (a rotated-out key's grace period); None: never.
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class KongConsumer:
    """One virtual key. `username` is the key id: llm-proxy reads it from X-Consumer-Username."""

    key_id: str
    username: str
    credentials: tuple[KongCredential, ...]

    @property
    def id(self) -> str:
        return consumer_id(self.key_id)


def consumer_id(key_id: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"consumer:{key_id}"))


def credential_id(key_id: str, digest: str) -> str:
    """The id Kong sends as X-Credential-Identifier for this key's secret with `digest`.

    A rotated key has two secrets during its grace period; each gets its own id, so
    llm-proxy can tell which one a request used.
    """
    return str(uuid.uuid5(_NAMESPACE, f"keyauth:{key_id}:{digest}"))


def kong_consumer(
    key_id: str,
    digest: str,
    *,
    expires_at: datetime | None = None,
    previous_digest: str | None = None,
    previous_expires_at: datetime | None = None,
) -> KongConsumer:
    """The consumer for one key: its current secret, and the replaced one while it lasts."""
    credentials = [KongCredential(credential_id(key_id, digest), digest, expires_at)]
    if previous_digest is not None and previous_expires_at is not None:
        ends = previous_expires_at if expires_at is None else min(previous_expires_at, expires_at)
        credentials.append(
            KongCredential(credential_id(key_id, previous_digest), previous_digest, ends)
        )
    return KongConsumer(key_id, key_id, tuple(credentials))
