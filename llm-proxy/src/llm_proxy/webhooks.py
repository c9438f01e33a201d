"""Webhooks: JSON POSTs sent in the background, so no request waits for one.

A failure is logged, never raised: an alert that cannot be delivered must not change what
happens to the request it describes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

log = logging.getLogger("llm_proxy")

_TIMEOUT = aiohttp.ClientTimeout(total=5)


class Webhooks:
    """Posts to any number of URLs; `name` says whose in the log (e.g. "budget alert")."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._session: aiohttp.ClientSession | None = None
        self._sending: set[asyncio.Task[None]] = set()

    def send(self, url: str, payload: dict[str, Any]) -> None:
        task = asyncio.ensure_future(self._post(url, payload))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _post(self, url: str, payload: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=_TIMEOUT)
        try:
            async with self._session.post(url, json=payload) as response:
                if response.status >= 400:
                    log.error("%s webhook answered %d", self._name, response.status)
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.error("%s webhook failed: %s", self._name, exc)

    async def close(self) -> None:
        """What is still being sent gets up to 5 s, then the session closes."""
        if self._sending:
            await asyncio.wait(self._sending, timeout=5)
        if self._session is not None:
            await self._session.close()
