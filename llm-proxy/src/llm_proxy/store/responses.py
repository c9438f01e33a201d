"""Stored Responses API answers: written behind the request, read back only by their owner.

`save` returns at once. One background task writes what was saved in batches, one
statement per batch, every `_FLUSH_S` (sooner when `_BATCH` are waiting), and sweeps
expired rows out at most every `_SWEEP_S`: a row per request written alone cost more
than the rest of the gateway's work on it. Until an answer is written, reads and deletes
see it pending, so a client that creates and at once reads (or continues from) a
response never misses it. Every read and delete names the owner: a key can reach only
what it created. Expired answers are never returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from llm_proxy.store.database import Database
from llm_proxy.store.models import StoredResponse

log = logging.getLogger("llm_proxy.responses")

_FLUSH_S = 0.05
_BATCH = 200
_SWEEP_S = 60.0


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
        self._pending: dict[tuple[str, str], Stored] = {}  # saved, not yet written
        self._writing: set[tuple[str, str]] = set()  # in the batch being written
        self._flush: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0

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
        self._pending[(owner, stored.id)] = stored
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        if len(self._pending) >= _BATCH:
            self._wake.set()

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
        while key in self._writing and self._flush is not None:
            # Let that write land first, or it would bring the answer back after the delete.
            await asyncio.shield(self._flush)
        pending = self._pending.pop(key, None)  # no later batch can take it now
        now = datetime.now(UTC)
        query = delete(StoredResponse).where(
            StoredResponse.owner == owner,
            StoredResponse.id == response_id,
            StoredResponse.expires_at > now,
        )
        async with self._database.session() as session, session.begin():
            result = await session.execute(query)
        found = pending is not None and pending.expires_at > now
        return found or bool(getattr(result, "rowcount", 0))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._flush is not None:
            await asyncio.gather(self._flush, return_exceptions=True)
        while self._pending:  # each batch leaves the pending set, written or logged
            await self._write_batch()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _FLUSH_S)
            self._wake.clear()
            if self._pending:
                # A task of its own, so a delete can wait for it without cancelling it.
                self._flush = asyncio.ensure_future(self._write_batch())
                await asyncio.shield(self._flush)

    async def _write_batch(self) -> None:
        batch = list(self._pending.items())[:_BATCH]
        if not batch:
            return
        self._writing = {key for key, _ in batch}
        try:
            async with self._database.session() as session, session.begin():
                await session.execute(_upsert(self._database.dialect), [_row(s) for _, s in batch])
                if time.monotonic() >= self._next_sweep:
                    self._next_sweep = time.monotonic() + _SWEEP_S
                    expired = StoredResponse.expires_at <= datetime.now(UTC)
                    await session.execute(delete(StoredResponse).where(expired))
        except Exception as exc:  # the answers went out already; losing their copies is logged
            log.error("could not store %d responses: %s", len(batch), exc)
        finally:
            for key, stored in batch:
                if self._pending.get(key) is stored:
                    del self._pending[key]
            self._writing = set()


def _upsert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(StoredResponse)
    columns = ("model", "created_at", "expires_at", "input_items", "response")
    return statement.on_conflict_do_update(
        index_elements=["owner", "id"],
        set_={name: statement.excluded[name] for name in columns},
    )


def _row(stored: Stored) -> dict[str, Any]:
    return {
        "owner": stored.owner,
        "id": stored.id,
        "model": stored.model,
        "created_at": stored.created_at,
        "expires_at": stored.expires_at,
        "input_items": stored.input_items,
        "response": stored.response,
    }


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
