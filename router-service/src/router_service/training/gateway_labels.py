"""A deployment's own route labels, read from the gateway's `route_labels` table.

The gateway writes them (migration 0014 of llm-proxy): `strong_wins` is 1 when the pair's
strong model answered better, 0 when the weak one was as good or better, 0.5 for a tie, and
anything between from a graded score. Each label becomes an offline `Item` whose outcomes
are per-prompt qualities: the strong model's is `strong_wins`, the weak model's is
`1 - strong_wins` (AlpacaEval's reading of a preference) but never above the strong one's.
A label under one half says the weak model was "as good or better", which routing to the
strong model cannot lose by: counted as a tie, every prompt's gain of routing it strong is
`max(0, 2 strong_wins - 1)`. With no negative gain the PGR curve climbs from 0 to 1, so APGR
and CPT stay in [0, 1]; a gain of -1 per 0 label let a curve overshoot (an APGR of 2.38).

The split is by request id (blake2b mod 5 == 0 is held out), so it is the same on every run
and a label never changes side when more arrive.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from router_service.conversation import Message
from router_service.training.data import Item

BENCHMARK = "gateway"
HELD_OUT_FOLDS = 5

_QUERY = """
SELECT request_id, source, auto_group, messages, strong_wins
FROM route_labels
{where}
ORDER BY id
"""


class LabelsError(Exception):
    """The labels cannot be read (bad URL, no such table, unreachable database)."""


@dataclass(frozen=True)
class GatewayLabel:
    request_id: str
    source: str
    auto_group: str
    messages: tuple[Message, ...]
    strong_wins: float

    @property
    def held_out(self) -> bool:
        digest = hashlib.blake2b(self.request_id.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") % HELD_OUT_FOLDS == 0

    def item(self) -> Item:
        strong = min(1.0, max(0.0, self.strong_wins))
        return Item(
            benchmark=BENCHMARK,
            question=f"{self.request_id}\0{self.source}",
            messages=self.messages,
            strong=strong,
            weak=min(strong, 1.0 - strong),
            category=self.source,
        )


def read_labels(database_url: str, auto_group: str | None = None) -> list[GatewayLabel]:
    """Every label (of one auto group when given) with a conversation to read."""
    engine = create_engine(_sqlalchemy_url(database_url))
    where = "WHERE auto_group = :group" if auto_group is not None else ""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(_QUERY.format(where=where)), {"group": auto_group})
            labels = [label for row in rows if (label := _label(row._mapping)) is not None]
    except SQLAlchemyError as error:
        # The driver's own message, without SQLAlchemy's statement and link.
        cause = getattr(error, "orig", None) or error
        message = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        raise LabelsError(f"cannot read route_labels: {message}") from error
    finally:
        engine.dispose()
    return labels


# The gateway's asynchronous drivers, and plain URLs, as the synchronous ones read here.
_DRIVERS = {
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+asyncpg": "postgresql+psycopg",
    "sqlite+aiosqlite": "sqlite",
}


def _sqlalchemy_url(database_url: str) -> URL:
    """The gateway's `database.url` as it is written there (Postgres, or the embedded
    default's SQLite file), or a plain `postgresql://` one."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise LabelsError(f"not a database URL: {error}") from error
    return url.set(drivername=_DRIVERS.get(url.drivername, url.drivername))


def _label(row: Any) -> GatewayLabel | None:
    messages = _messages(row["messages"])
    if not messages:
        return None
    return GatewayLabel(
        request_id=str(row["request_id"]),
        source=str(row["source"]),
        auto_group=str(row["auto_group"]),
        messages=messages,
        strong_wins=float(row["strong_wins"]),
    )


def _messages(value: Any) -> tuple[Message, ...]:
    """The stored conversation (JSON; a string on SQLite), text messages only."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        return ()
    return tuple(
        {"role": str(m.get("role", "user")), "content": m["content"]}
        for m in value
        if isinstance(m, dict) and isinstance(m.get("content"), str)
    )
