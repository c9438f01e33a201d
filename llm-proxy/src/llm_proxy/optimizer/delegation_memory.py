"""Delegated credentials held in this process: for a gateway without Redis, one process.

A run's sub-calls then all reach the process that minted its credential (N workers without
`redis.url` are refused at start, see `processes`). Its roll-up is summed as the sub-calls'
records are written, and its end waits on an event for the ones in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llm_proxy.optimizer.delegation import Delegation, out_of_scope, spent, unknown
from llm_proxy.optimizer.fanout import FanOut

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import Api
    from llm_proxy.store.request_log import RequestRecord


@dataclass(slots=True)
class _Held:
    delegation: Delegation
    expires_at: float  # time.monotonic()
    calls: int = 0
    in_flight: int = 0
    fanout: FanOut = field(default_factory=FanOut)
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.idle.set()


class MemoryDelegations:
    def __init__(self) -> None:
        self._by_digest: dict[str, _Held] = {}
        # Ended runs' bookkeeping, for the records of sub-calls that outlived them.
        self._ended: dict[str, _Held] = {}

    async def mint(self, delegation: Delegation, ttl_s: float) -> None:
        self._forget_expired()
        self._by_digest[delegation.digest] = _Held(delegation, time.monotonic() + ttl_s)

    async def admit(self, digest: str, api: Api) -> Delegation:
        held = self._by_digest.get(digest)
        if held is None or held.expires_at <= time.monotonic():
            raise unknown()
        if api != "chat":
            raise out_of_scope()
        if held.calls >= held.delegation.max_calls:
            raise spent(held.delegation.max_calls)
        held.calls += 1
        held.in_flight += 1
        held.idle.clear()
        return held.delegation

    def recorded(self, delegation: Delegation, record: RequestRecord) -> None:
        held = self._by_digest.get(delegation.digest) or self._ended.get(delegation.digest)
        if held is None:
            return
        fanout = held.fanout
        fanout.calls += 1
        fanout.prompt_tokens += record["prompt_tokens"]
        fanout.completion_tokens += record["completion_tokens"]
        fanout.cost_usd += record["cost_usd"]
        held.in_flight -= 1
        if held.in_flight <= 0:
            held.idle.set()

    async def end(self, digest: str, wait_s: float) -> FanOut:
        held = self._by_digest.pop(digest, None)
        if held is None:
            return FanOut()
        self._ended[digest] = held
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(held.idle.wait(), timeout=wait_s)
        finally:
            del self._ended[digest]
        return held.fanout

    async def close(self) -> None:
        return None

    def _forget_expired(self) -> None:
        now = time.monotonic()
        expired = [d for d, held in self._by_digest.items() if held.expires_at <= now]
        for digest in expired:
            del self._by_digest[digest]
