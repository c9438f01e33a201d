"""Counters in Redis: each reserve, settle or read is one EVALSHA of an atomic Lua script.

Reservations are sent together: while one batch is on the wire the next one gathers, and
the script decides its requests one after another, each all or nothing, as separate
calls in that order would. Under load many requests share a round trip (redis-py costs
about 0.1 ms of CPU per call, more than the script does in Redis); alone, a request is
sent at once, from its own task. Settles are queued and batched by the enforcer the same
way, and no request waits for them. Reserves and settles each keep one connection.
Timeouts are short on purpose: a dead Redis must cost a request milliseconds, not hang it.

Every key shares one hash tag (`{<prefix>limits}`), so on a Redis Cluster each script's
keys are in one slot: a reservation on several counters stays all or nothing, and the
leases (`limits.leases`) sit beside the counters they hold.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import resources

import orjson
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
from llm_proxy.limits.leases import Delivered, Lease
from llm_proxy.store.redis_pool import bounded_redis, serial_redis

_POOL_SIZE = 32
# Lua's unpack() and Redis's argument handling stay comfortable below this many counters.
_SETTLE_BATCH = 200
# Requests per reserve call: a few counters each, so about as many counters as a settle's.
_RESERVE_BATCH = 64


def _script(name: str) -> str:
    folder = resources.files("llm_proxy.limits") / "scripts"
    return (folder / "window.lua").read_text() + "\n" + (folder / name).read_text()


class RedisStore:
    def __init__(self, url: str, prefix: str, timeout_s: float) -> None:
        self._redis = bounded_redis(url, _POOL_SIZE, timeout_s)
        # Reserve calls go one at a time (below), as do the enforcer's settle batches: each
        # kind has one connection of its own, so neither waits behind the other.
        self._serial = serial_redis(url, timeout_s)
        self._settler = serial_redis(url, timeout_s)
        self._prefix = "{" + prefix + "limits}:"
        self._leases = self._prefix + "leases"
        self._reserve: AsyncScript = self._serial.register_script(_script("reserve.lua"))
        self._settle: AsyncScript = self._settler.register_script(_script("settle.lua"))
        self._read: AsyncScript = self._redis.register_script(_script("read.lua"))
        self._rebuild: AsyncScript = self._redis.register_script(_script("rebuild.lua"))
        self._renew: AsyncScript = self._redis.register_script(_script("renew.lua"))
        self._due: AsyncScript = self._redis.register_script(_script("due.lua"))
        self._expire: AsyncScript = self._redis.register_script(_script("expire.lua"))
        # Reservations waiting for the next reserve call, and the task sending them; or
        # `_inline`: a request alone is sending its own.
        self._asks: list[_Ask] = []
        self._sender: asyncio.Task[None] | None = None
        self._inline = False

    async def reserve(
        self, charges: list[Charge], lease: Lease | None = None, lease_ms: int = 0
    ) -> Verdict:
        keys = [self._prefix + c.counter.key for c in charges]
        words = [f"{len(charges)} {'-' if lease is None else lease.part} {lease_ms}"]
        if lease is not None:
            keys.append(self._lease_key(lease.holder))
        for charge in charges:
            counter = charge.counter
            words.append(
                f"{counter.limit} {charge.amount} {counter.window_ms} {counter.enforce.value} "
                f"{counter.period_end_ms} {counter.dimension.value}"
            )
        if not self._inline and (self._sender is None or self._sender.done()):
            return await self._send_alone(keys, " ".join(words))
        ask = _Ask(keys, " ".join(words), len(charges), asyncio.get_running_loop().create_future())
        self._asks.append(ask)
        if not self._inline and (self._sender is None or self._sender.done()):
            self._sender = asyncio.ensure_future(self._send_reservations())
        # A request cancelled while it waits cancels only its own future: one not yet
        # sent is dropped from the call, one sent is held under its lease, which is not
        # renewed (the enforcer never saw it admitted), so the sweep gives it back.
        return await ask.verdict

    async def _send_alone(self, keys: list[str], words: str) -> Verdict:
        """Nothing on the wire: the request makes the call itself, sparing a task and a
        turn of the loop each way. Those arriving meanwhile gather for the sender, which
        starts when this call ends. Cancelled on the wire, it is held as above."""
        self._inline = True
        try:
            reply = await self._call(self._reserve, [*keys, self._leases], [1, words])
        finally:
            self._inline = False
            if self._asks:
                self._sender = asyncio.ensure_future(self._send_reservations())
        return _verdict(reply)

    async def _send_reservations(self) -> None:
        try:
            while self._asks:
                batch = [ask for ask in self._asks[:_RESERVE_BATCH] if not ask.verdict.done()]
                del self._asks[:_RESERVE_BATCH]
                if batch:
                    await self._reserve_batch(batch)
        except asyncio.CancelledError:
            _fail(self._asks, StoreUnavailable("redis: the counter store closed"))
            self._asks = []
            raise

    async def _reserve_batch(self, batch: list[_Ask]) -> None:
        keys = [key for ask in batch for key in ask.keys]
        keys.append(self._leases)
        args: list[int | str] = [len(batch), *(ask.words for ask in batch)]
        try:
            reply = await self._call(self._reserve, keys, args)
        except StoreUnavailable as exc:
            _fail(batch, exc)
            return
        except BaseException:
            _fail(batch, StoreUnavailable("redis: the reserve call did not finish"))
            raise
        at = 0
        for ask in batch:
            end = at + 2 + 3 * ask.counters
            if not ask.verdict.done():
                ask.verdict.set_result(_verdict(reply[at:end]))
            at = end

    async def settle(self, adjustments: list[Adjustment]) -> list[Crossing]:
        crossings: list[Crossing] = []
        for batch in _whole_parts(adjustments, _SETTLE_BATCH):
            crossings += await self._settle_batch(batch)
        return crossings

    async def _settle_batch(self, adjustments: list[Adjustment]) -> list[Crossing]:
        keys = [self._prefix + a.charge.counter.key for a in adjustments]
        # An adjustment without a lease names its counter again in the lease's place.
        keys += [
            key if a.lease is None else self._lease_key(a.lease.holder)
            for key, a in zip(keys, adjustments, strict=True)
        ]
        keys.append(self._leases)
        args: list[int | str] = []
        for adjustment in adjustments:
            counter, lease = adjustment.charge.counter, adjustment.lease
            thresholds = ",".join(f"{t:g}" for t in counter.alert_thresholds) or "-"
            args.append(
                f"{counter.window_ms} {adjustment.at_ms} "
                f"{adjustment.actual - adjustment.charge.amount} {adjustment.actual} "
                f"{counter.limit} {thresholds} {'-' if lease is None else lease.part}"
            )
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

    async def renew(self, holders: list[str], lease_ms: int) -> None:
        for start in range(0, len(holders), _SETTLE_BATCH):
            batch = holders[start : start + _SETTLE_BATCH]
            keys = [self._leases, *(self._lease_key(h) for h in batch)]
            await self._count(self._renew, keys, [lease_ms])

    async def sweep(self, most: int) -> int:
        due = await self._call(self._due, [self._leases], [most])
        leases = [key.decode() if isinstance(key, bytes) else str(key) for key in due]
        return await self._end(leases, [(0, 0, 0, 0)] * len(leases), only_ended=True)

    async def settle_delivered(self, answers: list[Delivered]) -> int:
        ended = 0
        for start in range(0, len(answers), _SETTLE_BATCH):
            batch = answers[start : start + _SETTLE_BATCH]
            leases = [self._lease_key(a.holder) for a in batch]
            usage = [(int(a.served), a.input_tokens, a.output_tokens, a.nano_usd) for a in batch]
            ended += await self._end(leases, usage, only_ended=False)
        return ended

    async def _end(
        self, leases: list[str], usage: list[tuple[int, int, int, int]], only_ended: bool
    ) -> int:
        """Run expire.lua on these leases, naming every counter their parts hold."""
        if not leases:
            return 0
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for lease in leases:
                    pipe.hvals(lease)
                bodies = await pipe.execute()
        except (TimeoutError, RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc
        counters = {charge[0] for body in bodies for part in body for charge in orjson.loads(part)}
        keys = [self._leases, *leases, *sorted(counters)]
        args: list[int | str] = ["1" if only_ended else "0", len(leases)]
        args += [n for row in usage for n in row]
        return await self._count(self._expire, keys, args)

    def _lease_key(self, holder: str) -> str:
        return self._prefix + "lease:" + holder

    async def _call(
        self, script: AsyncScript, keys: list[str], args: Sequence[int | str]
    ) -> list[int | bytes]:
        reply = await self._run(script, keys, args)
        assert isinstance(reply, list)
        return reply

    async def _count(self, script: AsyncScript, keys: list[str], args: Sequence[int | str]) -> int:
        reply = await self._run(script, keys, args)
        assert isinstance(reply, int)
        return reply

    async def _run(self, script: AsyncScript, keys: list[str], args: Sequence[int | str]) -> object:
        try:
            return await script(keys=keys, args=args)
        except (TimeoutError, RedisError, OSError) as exc:
            raise StoreUnavailable(f"redis: {exc}") from exc

    async def close(self) -> None:
        if self._sender is not None:
            await asyncio.gather(self._sender, return_exceptions=True)
        await self._redis.aclose()
        await self._serial.aclose()
        await self._settler.aclose()


@dataclass(slots=True)
class _Ask:
    """One request's reservation, waiting for its batch: its keys and its argument (one
    string of words) as the script reads them, and the verdict the batch's reply settles."""

    keys: list[str]
    words: str
    counters: int
    verdict: asyncio.Future[Verdict]


def _fail(asks: list[_Ask], exc: StoreUnavailable) -> None:
    for ask in asks:
        if not ask.verdict.done():
            ask.verdict.set_exception(exc)


def _verdict(reply: list[int | bytes]) -> Verdict:
    """One request's part of the reply: admitted, the store's clock, then per counter."""
    states = tuple(
        CounterState(int(reply[i]), int(reply[i + 1]), int(reply[i + 2]))
        for i in range(2, len(reply), 3)
    )
    return Verdict(bool(reply[0]), int(reply[1]), states)


def _whole_parts(adjustments: list[Adjustment], size: int) -> Iterator[list[Adjustment]]:
    """Batches of about `size`, never cutting a lease part in two: settling a part drops
    it, so its adjustments in a later batch would find it gone and be skipped. (A part's
    adjustments are side by side: a reservation is closed whole.)"""
    start = 0
    while start < len(adjustments):
        end = min(start + size, len(adjustments))
        while (
            end < len(adjustments)
            and adjustments[end].lease is not None
            and (adjustments[end].lease == adjustments[end - 1].lease)
        ):
            end += 1
        yield adjustments[start:end]
        start = end
