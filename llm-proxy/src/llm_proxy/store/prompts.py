"""Reads and writes of prompt templates and partials: versions, labels, their history.

A version, once written, never changes; labels move between versions and every move is
kept. A new prompt or partial's first version is labelled `production`, so it is usable
at once; later versions move a label only when asked.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.models import Prompt, PromptLabel, PromptLabelMove, PromptVersion

Kind = Literal["prompt", "partial"]
DEFAULT_LABEL = "production"


async def find(session: AsyncSession, kind: Kind, name: str) -> Prompt | None:
    query = select(Prompt).where(Prompt.kind == kind, Prompt.name == name)
    return (await session.scalars(query)).first()


async def listing(session: AsyncSession, kind: Kind, limit: int, after: str | None) -> list[Prompt]:
    query = select(Prompt).where(Prompt.kind == kind).order_by(Prompt.name).limit(limit + 1)
    if after is not None:
        query = query.where(Prompt.name > after)
    return list((await session.scalars(query)).all())


async def version(session: AsyncSession, prompt_id: str, number: int) -> PromptVersion | None:
    query = select(PromptVersion).where(
        PromptVersion.prompt_id == prompt_id, PromptVersion.version == number
    )
    return (await session.scalars(query)).first()


async def versions(session: AsyncSession, prompt_id: str) -> list[PromptVersion]:
    query = (
        select(PromptVersion)
        .where(PromptVersion.prompt_id == prompt_id)
        .order_by(PromptVersion.version)
    )
    return list((await session.scalars(query)).all())


async def latest(session: AsyncSession, prompt_id: str) -> int:
    query = select(func.max(PromptVersion.version)).where(PromptVersion.prompt_id == prompt_id)
    return int(await session.scalar(query) or 0)


async def labels(session: AsyncSession, prompt_id: str) -> dict[str, int]:
    query = select(PromptLabel).where(PromptLabel.prompt_id == prompt_id)
    return {row.label: row.version for row in await session.scalars(query)}


async def label_history(session: AsyncSession, prompt_id: str) -> list[PromptLabelMove]:
    query = (
        select(PromptLabelMove)
        .where(PromptLabelMove.prompt_id == prompt_id)
        .order_by(PromptLabelMove.id)
    )
    return list((await session.scalars(query)).all())


async def selected(
    session: AsyncSession, kind: Kind, name: str, selector: int | str | None
) -> PromptVersion | None:
    """The version a number or a label names (no selector: the `production` label)."""
    prompt = await find(session, kind, name)
    if prompt is None:
        return None
    if isinstance(selector, int):
        return await version(session, prompt.id, selector)
    number = (await labels(session, prompt.id)).get(selector or DEFAULT_LABEL)
    return None if number is None else await version(session, prompt.id, number)


async def move_label(
    session: AsyncSession, prompt_id: str, label: str, to: int, author: str | None
) -> None:
    """Point `label` at version `to`, keeping the move in the history (not committed)."""
    row = await session.get(PromptLabel, (prompt_id, label))
    if row is not None and row.version == to:
        return
    session.add(
        PromptLabelMove(
            prompt_id=prompt_id,
            label=label,
            from_version=None if row is None else row.version,
            to_version=to,
            author=author,
        )
    )
    if row is None:
        session.add(PromptLabel(prompt_id=prompt_id, label=label, version=to))
    else:
        row.version = to
