"""Every replica on the newest config version (`config.mode: database`).

A writer commits a version, then publishes on `<prefix>config`; each replica, on the
message, reads the newest version number and applies that version if it is not what it
runs. A poll of the number every `config.poll_interval_s` catches what a lost message
missed. Applying goes through the gateway's reload path, which swaps in a new registry:
requests in flight finish on the old one. A version this replica cannot apply (an `env:`
key its environment lacks) is logged once and the running config kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from llm_proxy.store import config_versions
from llm_proxy.store.database import Database
from llm_proxy.store.models import ConfigVersion
from llm_proxy.store.signals import Invalidations

log = logging.getLogger("llm_proxy.config")

Apply = Callable[[ConfigVersion], Awaitable[None]]


class ConfigFollower:
    def __init__(
        self, database: Database, signals: Invalidations, poll_interval_s: float, apply: Apply
    ) -> None:
        self.database = database
        self.signals = signals
        self.poll_interval_s = poll_interval_s
        self.applied: int | None = None
        self._apply = apply
        self._refused: int | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        signals.on_change(self._wake.set)

    async def bootstrap(self, document: dict[str, Any], source: str) -> None:
        """Version 1 from the file, unless the database already has versions."""
        async with self.database.session() as session:
            if await config_versions.latest_number(session) is not None:
                return
            config_versions.append(session, None, document, "bootstrap", f"from {source}")
            # Another replica may write version 1 first: the same file's, or newer.
            with contextlib.suppress(IntegrityError):
                await session.commit()

    async def start(self) -> None:
        await self.catch_up()
        await self.signals.start()
        self._task = asyncio.ensure_future(self._follow())

    async def announce(self) -> None:
        """A version was committed: every replica (this one too) catches up."""
        await self.signals.publish()

    async def catch_up(self, again: bool = False) -> None:
        """Apply the newest version if it is not the running one (`again`: even if it is)."""
        async with self._lock:
            async with self.database.session() as session:
                number = await config_versions.latest_number(session)
                if number is None or (not again and number in (self.applied, self._refused)):
                    return
                row = await config_versions.get(session, number)
            assert row is not None
            try:
                await self._apply(row)
            except Exception as exc:  # a bad version must never stop the follower
                self._refused = number
                log.error("config version %d not applied, keeping the running one: %s", number, exc)
                if again:
                    raise
                return
            self.applied = number

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.signals.close()

    async def _follow(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval_s)
            self._wake.clear()
            try:
                await self.catch_up()
            except (SQLAlchemyError, OSError) as exc:
                log.warning("cannot read the newest config version (will retry): %s", exc)
