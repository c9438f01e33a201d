"""What a deployment keeps to teach its router: route labels, and the inputs feedback needs.

A label (`RouteLabel`) says, for one `auto` request, whether the pair's strong model
answered better than its weak one (`strong_wins`: 1, 0, 0.5 for a tie). A cascade's
escalation knows that on the request path's side and hands it over with `add`;
feedback comes later, through the API, and finds the conversation it scores in the
router's input kept for it (`keep`, with `labels.keep_prompts`), until `expires_at`.

`add` and `keep` return at once. One background task writes what was handed over in
batches every `_FLUSH_S` and sweeps expired inputs out at most every `_SWEEP_S`; a batch
the database refuses is logged and dropped: labels are training data, never a request's
outcome. A label already stored for the same request and source stays (replays are
harmless); feedback, which may be sent again, replaces its own with `put`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.database import Database
from llm_proxy.store.models import RouteInput, RouteLabel

log = logging.getLogger("llm_proxy.route_labels")

_FLUSH_S = 0.05
_BATCH = 200
_SWEEP_S = 60.0

Source = Literal["shadow", "feedback", "cascade"]


@dataclass(frozen=True, slots=True)
class Pair:
    """An auto request's group, its pair of models and the model that answered it."""

    auto_group: str
    strong_model: str
    weak_model: str
    routed_model: str


@dataclass(frozen=True, slots=True)
class Label:
    request_id: str
    source: Source
    pair: Pair
    messages: list[dict[str, str]]
    strong_wins: float
    detail: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "source": self.source,
            **asdict(self.pair),
            "messages": self.messages,
            "strong_wins": self.strong_wins,
            "detail": self.detail,
            "created_at": datetime.now(UTC),
        }


@dataclass(frozen=True, slots=True)
class KeptInput:
    request_id: str
    pair: Pair
    messages: list[dict[str, str]]
    expires_at: datetime


class LabelStore:
    def __init__(self, database: Database) -> None:
        self._database = database
        self._labels: list[Label] = []
        self._inputs: dict[str, KeptInput] = {}  # kept, not yet written
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0

    def add(self, label: Label) -> None:
        self._labels.append(label)
        self._started()

    def keep(
        self, request_id: str, pair: Pair, messages: list[dict[str, str]], keep_s: float
    ) -> None:
        expires = datetime.now(UTC) + timedelta(seconds=keep_s)
        self._inputs[request_id] = KeptInput(request_id, pair, messages, expires)
        self._started()

    async def kept(self, session: AsyncSession, request_id: str) -> KeptInput | None:
        """The router's input kept for `request_id`, if it has not expired."""
        now = datetime.now(UTC)
        pending = self._inputs.get(request_id)
        if pending is not None:
            return pending if pending.expires_at > now else None
        query = select(RouteInput).where(
            RouteInput.request_id == request_id, RouteInput.expires_at > now
        )
        row = (await session.execute(query)).scalar_one_or_none()
        if row is None:
            return None
        pair = Pair(row.auto_group, row.strong_model, row.weak_model, row.routed_model)
        return KeptInput(row.request_id, pair, list(row.messages), row.expires_at)

    async def put(self, session: AsyncSession, label: Label) -> None:
        """Store `label` in the caller's transaction, replacing one of its request and source."""
        statement = _insert(self._database.dialect, RouteLabel)
        columns = ("routed_model", "messages", "strong_wins", "detail", "created_at")
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["request_id", "source"],
                set_={name: statement.excluded[name] for name in columns},
            ),
            [label.row()],
        )

    async def drop(self, session: AsyncSession, request_id: str, source: Source) -> None:
        mine = (RouteLabel.request_id == request_id) & (RouteLabel.source == source)
        await session.execute(delete(RouteLabel).where(mine))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while self._labels or self._inputs:
            await self._write_batch()

    def _started(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
        if len(self._labels) + len(self._inputs) >= _BATCH:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), _FLUSH_S)
            self._wake.clear()
            if self._labels or self._inputs:
                await asyncio.shield(self._write_batch())

    async def _write_batch(self) -> None:
        labels, self._labels = self._labels[:_BATCH], self._labels[_BATCH:]
        inputs = list(self._inputs.values())[:_BATCH]
        dialect = self._database.dialect
        try:
            async with self._database.session() as session, session.begin():
                if labels:
                    statement = _insert(dialect, RouteLabel).on_conflict_do_nothing(
                        index_elements=["request_id", "source"]
                    )
                    await session.execute(statement, [label.row() for label in labels])
                if inputs:
                    statement = _insert(dialect, RouteInput).on_conflict_do_nothing(
                        index_elements=["request_id"]
                    )
                    await session.execute(statement, [_input_row(kept) for kept in inputs])
                if time.monotonic() >= self._next_sweep:
                    self._next_sweep = time.monotonic() + _SWEEP_S
                    expired = RouteInput.expires_at <= datetime.now(UTC)
                    await session.execute(delete(RouteInput).where(expired))
        except Exception as exc:  # training data: losing a batch is logged, never raised
            log.error("could not store %d labels, %d inputs: %s", len(labels), len(inputs), exc)
        finally:
            for kept in inputs:
                if self._inputs.get(kept.request_id) is kept:
                    del self._inputs[kept.request_id]


def _insert(dialect: str, table: type[RouteLabel] | type[RouteInput]) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table)


def _input_row(kept: KeptInput) -> dict[str, Any]:
    return {
        "request_id": kept.request_id,
        **asdict(kept.pair),
        "messages": kept.messages,
        "expires_at": kept.expires_at,
    }
