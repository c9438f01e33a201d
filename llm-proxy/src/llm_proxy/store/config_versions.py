"""The versions of the managed config: append-only, numbered, newest wins.

A new version is number `latest + 1`; the number is the primary key, so of two writers
racing from the same version exactly one commits and the other gets an IntegrityError,
which the API turns into 412 (its `If-Match` is stale).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.config.diff import diff_documents
from llm_proxy.store.models import ConfigVersion


async def latest_number(session: AsyncSession) -> int | None:
    number = await session.scalar(select(func.max(ConfigVersion.version)))
    return int(number) if number is not None else None


async def latest(session: AsyncSession) -> ConfigVersion | None:
    query = select(ConfigVersion).order_by(ConfigVersion.version.desc()).limit(1)
    return (await session.scalars(query)).first()


async def get(session: AsyncSession, version: int) -> ConfigVersion | None:
    return await session.get(ConfigVersion, version)


async def newest_first(
    session: AsyncSession, limit: int, before: int | None
) -> tuple[list[ConfigVersion], bool]:
    query = select(ConfigVersion).order_by(ConfigVersion.version.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(ConfigVersion.version < before)
    rows = list((await session.scalars(query)).all())
    return rows[:limit], len(rows) > limit


def append(
    session: AsyncSession,
    previous: ConfigVersion | None,
    document: dict[str, Any],
    author: str,
    comment: str,
    rolled_back_to: int | None = None,
) -> ConfigVersion:
    row = ConfigVersion(
        version=(previous.version if previous else 0) + 1,
        document=document,
        author=author,
        comment=comment,
        diff=diff_documents(previous.document if previous else {}, document),
        rolled_back_to=rolled_back_to,
    )
    session.add(row)
    return row
