"""Counters in Redis: each reserve, settle or read is one EVALSHA of an atomic Lua script.

Settles are queued and sent together: while one batch is on the wire the next one
gathers, so under load many requests share a round trip and no request waits for it.
Timeouts are short on purpose: a dead Redis must cost a request milliseconds, not hang it.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from llm_proxy.limits.counters import (
    Adjustment,
    Charge,
    Counter,
    CounterState,
    Crossing,
    StoreUnavailable,
    Verdict,
)
from llm_proxy.store.redis_pool import bounded_redis

_POOL_SIZE = 32
# Lua's unpack() and Redis's argument handling stay comfortable below this many counters.
_SETTLE_BATCH = 200


def _script(name: str) -> str:
    folder = resources.files("llm_proxy.limits") / "scripts"
    return (folder / "window.lua").read_text() + "\n" + (folder / name).read_text()


class RedisStore:
    def __init__(self, url: str, prefix: str, timeout_s: float) -> None:
        self._redis = bounded_redis(url, _POOL_SIZE, timeout_s)
        self._prefix = prefix + "limits:"
        self._reserve: AsyncScript = self._redis.register_script(_script("reserve.lua"))
        self._settle: AsyncScript = self._redis.register_script(_script("settle.lua"))
        self._read: AsyncScript = self._redis.register_script(_script("read.lua"))
        self._rebuild: AsyncScript = self._redis.register_script(_script("rebuild.lua"))

    async def reserve(self, charges: list[Charge]) -> Verdict:
        keys = [self._prefix + c.counter.key for c in charges]
        args: list[int] = []
        for charge in charges:
            counter = charge.counter
            args += [
                counter.limit,
                charge.amount,
                counter.window_ms,
                counter.enforce.value,
                counter.period_end_ms,
            ]
        reply = await self._call(self._reserve, keys, args)
        states = tuple(
            CounterState(int(reply[i]), int(reply[i + 1]), int(reply[i + 2]))
            for i in range(2, len(reply), 3)
        )
        return Verdict(bool(reply[0]), int(reply[1]), states)

    async def settle(self, adjustments: list[Adjustment]) -> list[Crossing]:
        crossings: list[Crossing] = []
        for start in range(0, len(adjustments), _SETTLE_BATCH):
            crossings += await self._settle_batch(adjustments[start : start + _SETTLE_BATCH])
        return crossings

    async def _settle_batch(self, adjustments: list[Adjustment]) -> list[Crossing]:
        keys = [self._prefix + a.charge.counter.key for a in adjustments]
        args: list[int | str] = []
        for adjustment in adjustments:
            counter = adjustment.charge.counter
            args += [
                counter.window_ms,
                adjustment.at_ms,
                adjustment.actual - adjustment.charge.amount,
                adjustment.actual,
                counter.limit,
                ",".join(f"{t:g}" for t in counter.alert_thresholds),
            ]
        reply = await self._call(self._settle, keys, args)
        counters = [a.charge.counter for a in adjustments]
        return [
            Crossing(counters[int(reply[i]) - 1], float(reply[i + 1]), int(reply[i + 2]))
            for i in range(0, len(reply), 3)
        ]

    async def read(self, counters: list[Counter]) -> list[int]:
        if not counters:
            return []
        keys = [self._prefix + c.key for c in counters]
        reply = await self._call(self._read, keys, [c.window_ms for c in counters])
        return [int(total) for total in reply]

    async def raise_periods(self, totals: list[tuple[Counter, int]]) -> list[bool]:
        """Raise calendar-period counters to at least these totals; True where one rose."""
        raised: list[bool] = []
        for start in range(0, len(totals), _SETTLE_BATCH):
            batch = totals[start : start + _SETTLE_BATCH]
            keys = [self._prefix + counter.key for counter, _ in batch]
            args = [n for counter, total in batch for n in (total, counter.period_end_ms)]
            raised += [bool(r) for r in await self._call(self._rebuild, keys, args)]
        return raised

    async def _call(
        self, script: AsyncScript, keys: list[str], args: Sequence[int | str]
    ) -> list[int | bytes]:
        try:
            reply = await script(keys=keys, args=args)
        except (TimeoutError, RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        assert isinstance(reply, list)
        return reply

    async def close(self) -> None:
        await self._redis.aclose()
