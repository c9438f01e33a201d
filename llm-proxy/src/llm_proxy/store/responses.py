"""Stored Responses API answers: written behind the request, read back only by their owner.

`save` returns at once; the row is written in the background. Until it is, reads and
deletes see the pending answer, so a client that creates and at once reads (or continues
from) a response never misses it. Every read and delete names the owner: a key can reach
only what it created. Expired answers are never returned, and each write sweeps them out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from llm_proxy.store.database import Database
from llm_proxy.store.models import StoredResponse

log = logging.getLogger("llm_proxy.responses")


@dataclass(frozen=True, slots=True)
class Stored:
    """One stored answer: the response object and the conversation it was made from."""

    owner: str
    id: str
    model: str | None
    created_at: datetime
    expires_at: datetime
    input_items: list[Any]
    response: dict[str, Any]


class ResponseStore:
    def __init__(self, database: Database, ttl_s: float) -> None:
        self._database = database
        self.ttl_s = ttl_s
        self._pending: dict[tuple[str, str], Stored] = {}
        self._writes: dict[tuple[str, str], asyncio.Task[None]] = {}

    def save(self, owner: str, response: dict[str, Any], input_items: list[Any]) -> None:
        now = datetime.now(UTC)
        model = response.get("model")
        stored = Stored(
            owner=owner,
            id=str(response["id"]),
            model=model if isinstance(model, str) else None,
            created_at=now,
            expires_at=now + timedelta(seconds=self.ttl_s),
            input_items=input_items,
            response=response,
        )
        key = (owner, stored.id)
        self._pending[key] = stored
        self._writes[key] = asyncio.ensure_future(self._write(key, stored))

    async def get(self, owner: str, response_id: str) -> Stored | None:
        now = datetime.now(UTC)
        pending = self._pending.get((owner, response_id))
        if pending is not None:
            return pending if pending.expires_at > now else None
        query = select(StoredResponse).where(
            StoredResponse.owner == owner,
            StoredResponse.id == response_id,
            StoredResponse.expires_at > now,
        )
        async with self._database.session() as session:
            row = (await session.execute(query)).scalar_one_or_none()
        return None if row is None else _stored(row)

    async def delete(self, owner: str, response_id: str) -> bool:
        """Forget an answer; False if this owner has none by that id."""
        key = (owner, response_id)
        writing = self._writes.get(key)
        if writing is not None:
            # Let the write land first, or it would bring the answer back after the delete.
            await asyncio.shield(writing)
        now = datetime.now(UTC)
        query = delete(StoredResponse).where(
            StoredResponse.owner == owner,
            StoredResponse.id == response_id,
            StoredResponse.expires_at > now,
        )
        async with self._database.session() as session, session.begin():
            result = await session.execute(query)
        return bool(getattr(result, "rowcount", 0))

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes.values(), return_exceptions=True)

    async def _write(self, key: tuple[str, str], stored: Stored) -> None:
        try:
            async with self._database.session() as session, session.begin():
                await session.execute(
                    delete(StoredResponse).where(StoredResponse.expires_at <= stored.created_at)
                )
                await session.merge(
                    StoredResponse(
                        owner=stored.owner,
                        id=stored.id,
                        model=stored.model,
                        created_at=stored.created_at,
                        expires_at=stored.expires_at,
                        input_items=stored.input_items,
                        response=stored.response,
                    )
                )
        except Exception as exc:  # the answer went out already; losing its copy is logged
            log.error("could not store response %s: %s", stored.id, exc)
        finally:
            self._pending.pop(key, None)
            self._writes.pop(key, None)


def _stored(row: StoredResponse) -> Stored:
    return Stored(
        owner=row.owner,
        id=row.id,
        model=row.model,
        created_at=row.created_at,
        expires_at=row.expires_at,
        input_items=list(row.input_items),
        response=dict(row.response),
    )
