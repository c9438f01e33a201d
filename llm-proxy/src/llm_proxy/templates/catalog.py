"""Prompt versions resolved and compiled, cached in process for the request path.

A request names a prompt and a version or label; the catalog answers with the compiled
version, its model and default parameters. Entries are cleared on every replica when
anything changes (the directory's invalidation signal, Redis pub/sub), so a new label is
used everywhere within a second; the TTL only bounds staleness if a signal is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llm_proxy.store import prompts
from llm_proxy.store.cache import TtlCache
from llm_proxy.store.database import Database
from llm_proxy.store.models import Prompt, PromptVersion
from llm_proxy.store.signals import Invalidations
from llm_proxy.templates.render import (
    MAX_DEPTH,
    Compiled,
    PartialRef,
    TemplateError,
    compile_messages,
    expand,
    partial_refs,
)
from sqlalchemy.ext.asyncio import AsyncSession

_TTL_S = 60.0
_MISS_TTL_S = 1.0


@dataclass(frozen=True, slots=True)
class Resolved:
    name: str
    version: int
    model: str | None
    params: dict[str, Any]
    compiled: Compiled
    # The prompt's experiment, if it runs one: it picks the version when a request does not.
    experiment: dict[str, Any] | None = None


async def compile_version(
    session: AsyncSession,
    template: list[dict[str, str]],
    schema: dict[str, Any] | None,
    saving_partial: tuple[str, str] | None = None,
) -> Compiled:
    """Compile messages against the stored partials; TemplateError says what is wrong.

    `saving_partial` (name, text) stands in for that partial's stored text, so a partial
    about to be saved is checked for cycles with its new content.
    """
    texts: dict[PartialRef, str] = {}
    for message in template:
        await _gather(session, message["content"], texts, saving_partial, 0)
    return compile_messages(template, lambda ref: texts[ref], schema)


async def check_partial(session: AsyncSession, name: str, text: str) -> None:
    """A partial's text must expand: every partial it names exists, no cycle, not too deep."""
    texts: dict[PartialRef, str] = {}
    await _gather(session, text, texts, (name, text), 1)
    expand(text, lambda ref: texts[ref], (name,))


async def _gather(
    session: AsyncSession,
    text: str,
    found: dict[PartialRef, str],
    saving: tuple[str, str] | None,
    depth: int,
) -> None:
    for ref in partial_refs(text):
        if ref in found:
            continue
        if depth >= MAX_DEPTH:
            raise TemplateError(f"Partials nest deeper than {MAX_DEPTH} levels at '{ref.name}'.")
        if saving is not None and ref.name == saving[0] and ref.selector is None:
            found[ref] = saving[1]
            # Its own text was gathered by the caller; going on would only find the cycle.
            continue
        row = await prompts.selected(session, "partial", ref.name, _selector(ref.selector))
        if row is None:
            wanted = ref.name if ref.selector is None else f"{ref.name}@{ref.selector}"
            raise TemplateError(f"No partial '{wanted}'.")
        found[ref] = str(row.template)
        await _gather(session, found[ref], found, saving, depth + 1)


def _selector(raw: str | None) -> int | str | None:
    return int(raw) if raw is not None and raw.isdigit() else raw


class PromptCatalog:
    def __init__(self, database: Database, signals: Invalidations) -> None:
        self._database = database
        self._cache: TtlCache[Resolved] = TtlCache(self._load, _TTL_S, _MISS_TTL_S)
        signals.on_change(self._cache.clear)

    async def resolve(self, name: str, selector: int | str | None) -> Resolved | None:
        return await self._cache.get(f"{name}\x00{selector if selector is not None else ''}")

    async def _load(self, key: str) -> Resolved | None:
        name, _, raw = key.partition("\x00")
        async with self._database.session() as session:
            prompt = await prompts.find(session, "prompt", name)
            if prompt is None:
                return None
            row = await prompts.selected(session, "prompt", name, _selector(raw or None))
            if row is None:
                return None
            return await resolved(session, prompt, row)


async def resolved(session: AsyncSession, prompt: Prompt, row: PromptVersion) -> Resolved:
    compiled = await compile_version(session, row.template, row.variables_schema)
    params = dict(row.params or {})
    return Resolved(prompt.name, row.version, row.model, params, compiled, prompt.experiment)
