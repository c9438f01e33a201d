"""Many timeouts of one length on one event loop, served by a single timer.

A timer made for each request and cancelled again by nearly every one (the answer or the
headers came in time) cost it about 2.7 µs on uvloop; an entry in an ordered dict costs a
tenth of that. All entries have the same length, so arrival order is deadline order: one
timer, set for the oldest, serves them all, and when it fires it hands each entry past its
deadline to the callback and sets itself for the next one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


class Timeouts(Generic[K]):
    def __init__(
        self, loop: asyncio.AbstractEventLoop, after_s: float, expired: Callable[[K], None]
    ) -> None:
        self.loop = loop
        self.after_s = after_s
        self._expired = expired
        # Key → when it was started, in that order, so the oldest is first.
        self._started: dict[K, float] = {}
        self._timer: asyncio.TimerHandle | None = None

    def start(self, key: K) -> None:
        """`key` expires `after_s` from now unless stopped first (a running one restarts)."""
        started = self.loop.time()
        self._started.pop(key, None)
        self._started[key] = started
        if self._timer is None:
            self._timer = self.loop.call_at(started + self.after_s, self._due)

    def stop(self, key: K) -> None:
        self._started.pop(key, None)

    def running(self, key: K) -> bool:
        return key in self._started

    def _due(self) -> None:
        self._timer = None
        now = self.loop.time()
        # The oldest each time round: a callback may start or stop keys.
        while self._started:
            key, started = next(iter(self._started.items()))
            if now - started < self.after_s:
                if self._timer is None:
                    self._timer = self.loop.call_at(started + self.after_s, self._due)
                return
            del self._started[key]
            self._expired(key)
