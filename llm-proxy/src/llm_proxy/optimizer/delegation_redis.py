"""Delegated credentials in Redis: a run's sub-calls may reach any worker or replica.

One hash per credential (`<prefix>optimizer:delegation:<digest>`), expiring with it: what
it was minted for, the calls admitted, those in flight, and the roll-up of the sub-calls'
records. Admitting a sub-call (the cap checked and counted), adding a record to the
roll-up and ending the run are each one atomic script, so two processes never admit past
`max_calls` and a sub-call admitted elsewhere still counts on its parent. An ended run is
marked at once (no sub-call is admitted after it), read when its last sub-call in flight is
recorded (at once in the usual case, else polled up to the wait), then deleted.

A Redis that cannot be reached fails closed: no credential is minted (the request gets one
plain call, see the stage) and no sub-call admitted (503).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import orjson
from redis.exceptions import RedisError
from redis.typing import EncodableT, FieldT

from llm_proxy.identity import Identity, ScopeLimits
from llm_proxy.optimizer.delegation import (
    Delegation,
    DelegationUnavailable,
    out_of_scope,
    spent,
    unknown,
)
from llm_proxy.optimizer.fanout import FanOut
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.residency import Residency
from llm_proxy.store.redis_pool import bounded_redis

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import Api
    from llm_proxy.store.request_log import RequestRecord

_POOL_SIZE = 16
_POLL_S = 0.002

# KEYS[1]: the credential. ARGV[1]: "1" to admit a call (chat), "0" only to look it up.
# Answers {0}: unknown or ended; {1, grant}: found, not counted; {2, max}: spent;
# {3, grant}: admitted.
_ADMIT = """
local found = redis.call('HMGET', KEYS[1], 'grant', 'calls', 'max_calls', 'ended')
if not found[1] or found[4] == '1' then return {0} end
if ARGV[1] ~= '1' then return {1, found[1]} end
if tonumber(found[2]) >= tonumber(found[3]) then return {2, found[3]} end
redis.call('HINCRBY', KEYS[1], 'calls', 1)
redis.call('HINCRBY', KEYS[1], 'in_flight', 1)
return {3, found[1]}
"""
# ARGV: prompt tokens, completion tokens, cost. A credential gone (expired, or its run's
# wait over) takes nothing: the record counts on its own.
_RECORDED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], 'done', 1)
redis.call('HINCRBY', KEYS[1], 'prompt_tokens', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'completion_tokens', ARGV[2])
redis.call('HINCRBYFLOAT', KEYS[1], 'cost_usd', ARGV[3])
redis.call('HINCRBY', KEYS[1], 'in_flight', -1)
return 1
"""
# Marks the run ended and answers its roll-up (false: gone); deleted at once when no
# sub-call is in flight, the usual case: one round trip.
_END = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'ended', '1')
local roll_up = redis.call('HMGET', KEYS[1], unpack(ARGV))
if tonumber(roll_up[1] or '0') <= 0 then redis.call('DEL', KEYS[1]) end
return roll_up
"""
_ROLL_UP = ("in_flight", "done", "prompt_tokens", "completion_tokens", "cost_usd")


class RedisDelegations:
    def __init__(self, url: str, prefix: str, timeout_s: float) -> None:
        self._redis = bounded_redis(url, _POOL_SIZE, timeout_s)
        self._prefix = prefix + "optimizer:delegation:"
        self._admit = self._redis.register_script(_ADMIT)
        self._recorded = self._redis.register_script(_RECORDED)
        self._end = self._redis.register_script(_END)
        # Roll-up writes run after their sub-call's answer: kept until done.
        self._writes: set[asyncio.Future[Any]] = set()

    async def mint(self, delegation: Delegation, ttl_s: float) -> None:
        fields: dict[FieldT, EncodableT] = {
            "grant": _grant(delegation),
            "max_calls": delegation.max_calls,
            "calls": 0,
            "in_flight": 0,
        }
        key = self._key(delegation.digest)
        try:
            # One round trip; MULTI keeps a half-written credential from ever being seen.
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=fields)
                pipe.pexpire(key, int(ttl_s * 1000))
                await pipe.execute()
        except RedisError as exc:
            raise DelegationUnavailable(str(exc)) from exc

    async def admit(self, digest: str, api: Api) -> Delegation:
        try:
            reply = await self._admit(
                keys=[self._key(digest)], args=["1" if api == "chat" else "0"]
            )
        except RedisError:
            raise _unavailable() from None
        status = int(reply[0])
        if status == 0:
            raise unknown()
        if status == 1:
            raise out_of_scope()
        if status == 2:
            raise spent(int(reply[1]))
        return _delegation(digest, reply[1])

    def recorded(self, delegation: Delegation, record: RequestRecord) -> None:
        args = [record["prompt_tokens"], record["completion_tokens"], repr(record["cost_usd"])]
        write = asyncio.ensure_future(self._add(delegation.digest, args))
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def end(self, digest: str, wait_s: float) -> FanOut:
        key = self._key(digest)
        try:
            values = await self._end(keys=[key], args=_ROLL_UP)
            if not values:
                return FanOut()
            if int(values[0] or 0) > 0:
                values = await self._settled(key, time.monotonic() + wait_s)
        except RedisError:
            # The sub-calls' own records still count; the parent then carries none.
            return FanOut()
        return FanOut(
            calls=int(values[1] or 0),
            prompt_tokens=int(values[2] or 0),
            completion_tokens=int(values[3] or 0),
            cost_usd=float(values[4] or 0.0),
        )

    async def close(self) -> None:
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)
        await self._redis.aclose()

    async def _settled(self, key: str, deadline: float) -> list[Any]:
        """The roll-up once no sub-call is in flight (or at the deadline); then deleted."""
        while True:
            await asyncio.sleep(_POLL_S)
            values: list[Any] = await self._redis.hmget(key, _ROLL_UP)
            if int(values[0] or 0) <= 0 or time.monotonic() >= deadline:
                await self._redis.delete(key)
                return values

    async def _add(self, digest: str, args: list[Any]) -> None:
        try:
            await self._recorded(keys=[self._key(digest)], args=args)
        except RedisError:
            return  # the sub-call's record is written; only its parent's roll-up lacks it

    def _key(self, digest: str) -> str:
        return self._prefix + digest


def _unavailable() -> GatewayError:
    return GatewayError(
        503,
        "Delegated credentials cannot be checked now (their store does not answer).",
        code="delegation_unavailable",
    )


def _grant(delegation: Delegation) -> bytes:
    residency = delegation.residency
    return orjson.dumps(
        {
            "parent": delegation.parent_request_id,
            "model": delegation.model,
            "max_calls": delegation.max_calls,
            "identity": asdict(delegation.identity),
            "residency": None
            if residency is None
            else {"policy": residency.policy, "regions": sorted(residency.regions)},
        }
    )


def _delegation(digest: str, raw: bytes) -> Delegation:
    grant = orjson.loads(raw)
    residency = grant["residency"]
    return Delegation(
        digest,
        grant["parent"],
        _identity(grant["identity"]),
        grant["model"],
        int(grant["max_calls"]),
        None
        if residency is None
        else Residency(residency["policy"], frozenset(residency["regions"])),
    )


def _identity(fields: dict[str, Any]) -> Identity:
    """An Identity from its JSON (asdict's lists back to the tuples it holds)."""
    scopes = tuple(
        ScopeLimits(**{**scope, "alert_thresholds": tuple(scope["alert_thresholds"])})
        for scope in fields["scopes"]
    )
    return Identity(
        **{
            **fields,
            "allowed_models": tuple(fields["allowed_models"]),
            "scopes": scopes,
            "optimizer_approaches": tuple(tuple(a) for a in fields["optimizer_approaches"]),
        }
    )
