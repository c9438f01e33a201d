"""Generic reads and writes for the admin API: one row by id, pages of rows, references.

Pages are ordered by id and continue after the last id seen (`after`), so a page stays
correct while rows are added; `limit + 1` rows are read to know whether more follow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.models import Base, Entity

M = TypeVar("M", bound=Entity)


@dataclass(frozen=True, slots=True)
class Page(Generic[M]):
    rows: list[M]
    has_more: bool

    @property
    def next_after(self) -> str | None:
        return self.rows[-1].id if self.has_more and self.rows else None


async def page(
    session: AsyncSession,
    model: type[M],
    limit: int,
    after: str | None = None,
    where: Sequence[ColumnElement[bool]] = (),
) -> Page[M]:
    query = select(model).where(*where).order_by(model.id).limit(limit + 1)
    if after is not None:
        query = query.where(model.id > after)
    rows = list((await session.scalars(query)).all())
    return Page(rows[:limit], len(rows) > limit)


async def count(session: AsyncSession, model: type[M], *where: ColumnElement[bool]) -> int:
    total = await session.scalar(select(func.count(model.id)).where(*where))
    return int(total or 0)


def assign(row: Base, fields: dict[str, Any]) -> None:
    """Copy validated fields onto a row (`metadata` lives in the `metadata_` attribute)."""
    for name, value in fields.items():
        setattr(row, "metadata_" if name == "metadata" else name, value)
