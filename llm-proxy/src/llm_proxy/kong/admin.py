"""Kong's Admin API: load a whole declarative config (DB-less), or upsert and prune the
consumers and key-auth credentials llm-proxy manages (DB mode)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from llm_proxy.kong.consumers import MANAGED_TAG, KongConsumer, KongCredential

# A load still running answers 429; wait it out this many times before giving up.
_BUSY_ATTEMPTS = 5
_BUSY_WAIT_MAX_S = 10.0


class KongAdminError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class SyncReport:
    mode: str  # "dbless" | "db"
    outcome: str  # "loaded" | "unchanged" | "synced"
    consumers: int
    written: int = 0
    deleted: int = 0

    def describe(self) -> str:
        if self.mode == "dbless":
            return f"kong (DB-less): config {self.outcome}, {self.consumers} consumers"
        return (
            f"kong (database): {self.consumers} consumers, "
            f"{self.written} entities written, {self.deleted} removed"
        )


class KongAdmin:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def uses_database(self) -> bool:
        """Whether this Kong keeps its config in a database (else it is DB-less)."""
        info = await self._json("GET", "/")
        database: object = info.get("configuration", {}).get("database", "off")
        return database != "off"

    async def load_config(self, document: dict[str, Any]) -> str:
        """DB-less: replace Kong's whole config. "unchanged" when Kong already runs it."""
        for _ in range(_BUSY_ATTEMPTS):
            response = await self.client.post(
                "/config", params={"check_hash": "1", "flatten_errors": "1"}, json=document
            )
            if response.status_code == 201:
                return "loaded"
            if response.status_code == 304:
                return "unchanged"
            if response.status_code != 429:
                raise KongAdminError(_rejection(response))
            await asyncio.sleep(_retry_after(response))
        raise KongAdminError("Kong kept answering 429: a previous config load is still running")

    async def sync_consumers(self, consumers: Sequence[KongConsumer], now: datetime) -> SyncReport:
        """DB mode: make Kong's managed consumers and credentials exactly `consumers`.

        Writes come before removals, so a rotated key never has a moment without a secret.
        """
        existing_consumers = {c["id"]: c async for c in self._managed("/consumers")}
        existing_credentials = {c["id"]: c async for c in self._managed("/key-auths")}
        written = 0
        for consumer in consumers:
            written += await self._put_consumer(consumer, existing_consumers.get(consumer.id))
            for credential in consumer.credentials:
                current = existing_credentials.get(credential.id)
                written += await self._put_credential(consumer, credential, current, now)
        wanted_credentials = {c.id for consumer in consumers for c in consumer.credentials}
        wanted_consumers = {consumer.id for consumer in consumers}
        deleted = 0
        for credential_id in existing_credentials.keys() - wanted_credentials:
            deleted += await self._delete(f"/key-auths/{credential_id}")
        for consumer_id in existing_consumers.keys() - wanted_consumers:
            deleted += await self._delete(f"/consumers/{consumer_id}")
        return SyncReport("db", "synced", len(consumers), written, deleted)

    async def _put_consumer(self, consumer: KongConsumer, current: dict[str, Any] | None) -> int:
        if current is not None and current.get("username") == consumer.username:
            return 0
        body = {"username": consumer.username, "tags": [MANAGED_TAG]}
        await self._json("PUT", f"/consumers/{consumer.id}", body)
        return 1

    async def _put_credential(
        self,
        consumer: KongConsumer,
        credential: KongCredential,
        current: dict[str, Any] | None,
        now: datetime,
    ) -> int:
        # An expiring credential is always rewritten: its ttl counts down from the write.
        unchanged = current is not None and current.get("key") == credential.key
        if unchanged and credential.expires_at is None:
            return 0
        body: dict[str, Any] = {"key": credential.key, "tags": [MANAGED_TAG]}
        if credential.expires_at is not None:
            body["ttl"] = max(1, math.ceil((credential.expires_at - now).total_seconds()))
        await self._json("PUT", f"/consumers/{consumer.id}/key-auth/{credential.id}", body)
        return 1

    async def _delete(self, path: str) -> int:
        response = await self.client.delete(path)
        if response.status_code not in (204, 404):
            raise KongAdminError(_rejection(response))
        return 1 if response.status_code == 204 else 0

    async def _managed(self, path: str) -> AsyncIterator[dict[str, Any]]:
        """Every entity under `path` tagged as llm-proxy's, across Kong's pages."""
        params: dict[str, str] = {"tags": MANAGED_TAG, "size": "1000"}
        while True:
            page = await self._json("GET", path, params=params)
            for entity in page.get("data", []):
                yield entity
            offset = page.get("offset")
            if not offset:
                return
            params = {**params, "offset": str(offset)}

    async def _json(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await self.client.request(method, path, json=body, params=params)
        if response.status_code >= 400:
            raise KongAdminError(_rejection(response))
        data = response.json()
        if not isinstance(data, dict):
            raise KongAdminError(f"{method} {path}: Kong answered with a non-object body")
        return data


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(_BUSY_WAIT_MAX_S, max(0.0, float(response.headers.get("retry-after", "1"))))
    except ValueError:
        return 1.0


def _rejection(response: httpx.Response) -> str:
    """Kong's own words for why it refused, with the flattened per-field errors if any."""
    request = response.request
    where = f"{request.method} {request.url.path}"
    try:
        body = response.json()
    except ValueError:
        return f"{where}: Kong answered {response.status_code}: {response.text[:500]}"
    message = body.get("message", "") if isinstance(body, dict) else ""
    lines = [f"{where}: Kong answered {response.status_code}: {message}".rstrip(": ")]
    for entity in body.get("flattened_errors", []) if isinstance(body, dict) else []:
        name = entity.get("entity_name") or entity.get("entity_type", "entity")
        kind = entity.get("entity_type", "")
        for error in entity.get("errors", []):
            lines.append(f"  {kind} {name}: {error.get('field', '')} {error.get('message')}")
    return "\n".join(lines)
