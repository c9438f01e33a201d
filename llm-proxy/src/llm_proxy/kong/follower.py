"""Kong follows the key table from inside the gateway (`kong.admin_url` set).

A key created, rotated or revoked through this replica's admin API is pushed at once
(`changed`); a timer (`kong.interval_s`) pushes anyway, as the safety net for a push
that failed or a change made elsewhere. Pushes never overlap; changes that arrive during
one are folded into the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import httpx

from llm_proxy.config.models import KongSection
from llm_proxy.kong.admin import KongAdminError, SyncReport
from llm_proxy.kong.declarative import KongConfigError
from llm_proxy.kong.sync import sync_keys
from llm_proxy.store.database import Database

log = logging.getLogger("llm_proxy.kong")


class KongFollower:
    def __init__(self, database: Database, settings: KongSection) -> None:
        assert settings.admin_url is not None
        self.database = database
        self.settings = settings
        self.admin_url = settings.admin_url
        self.last: SyncReport | None = None
        self._due = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._due.set()  # a first push at start
        self._task = asyncio.ensure_future(self._run())

    def changed(self) -> None:
        self._due.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._due.wait(), timeout=self.settings.interval_s)
            self._due.clear()
            await self._push()

    async def _push(self) -> None:
        try:
            self.last = await sync_keys(
                self.database,
                self.admin_url,
                Path(self.settings.base),
                self.settings.mode,
                self.settings.timeout_s,
            )
            log.info("%s", self.last.describe())
        except (KongAdminError, KongConfigError, httpx.HTTPError, OSError) as exc:
            log.warning("kong sync failed (the timer retries): %s", exc)
