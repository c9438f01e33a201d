"""The cache shared by every replica, in Redis.

Layout under `{<redis.prefix>cache}:` (one hash tag: on a Redis Cluster every script's keys
are in one slot, and each script is sent to it by naming `meta`):
  e:<id>      hash {body, created, cost}, expiring with the entry's TTL
  meta        hash id → {team, scope, size}: what removing an entry must undo
  lru         zset id → last hit (evict the least recently used first)
  created     zset id → written at (expire, clear by age)
  t:<team>    zset id → written at (clear by team); `teams` the set of teams
  bytes       the bodies' total size
  v:<scope>   hash id → vector and fingerprint of the semantic entries of a scope
  log         stream of semantic additions and removals: how replicas keep their index in sync
  stats       hit/miss counters and saved cost, added to in batches
Each change is one Lua script, so bounds and bookkeeping stay consistent under concurrent writers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from typing import Any

import numpy as np
import orjson
from redis.exceptions import RedisError

from llm_proxy.cache.index import SemanticIndex
from llm_proxy.cache.reading import Fingerprint
from llm_proxy.cache.store import Bounds, Entry, Semantic, Stored, Usage
from llm_proxy.store.redis_pool import open_redis

log = logging.getLogger("llm_proxy.cache")

_LOG_LENGTH = 20000
_TIMEOUT_S = 1.0
_REMOVE = (
    f"local LOG_LENGTH = {_LOG_LENGTH}\n"
    + """
local p = ARGV[1]
local function remove(id)
  local meta = redis.call('HGET', p..'meta', id)
  redis.call('DEL', p..'e:'..id)
  redis.call('ZREM', p..'lru', id)
  redis.call('ZREM', p..'created', id)
  if not meta then return 0 end
  local m = cjson.decode(meta)
  redis.call('HDEL', p..'meta', id)
  redis.call('ZREM', p..'t:'..m.team, id)
  redis.call('DECRBY', p..'bytes', m.size)
  if m.scope ~= '' then
    redis.call('HDEL', p..'v:'..m.scope, id)
    redis.call('XADD', p..'log', 'MAXLEN', '~', LOG_LENGTH, '*', 'op', 'del', 'id', id)
  end
  return 1
end
local function sweep(cutoff)
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', p..'created', '-inf', cutoff, 'LIMIT', 0, 200)) do
    remove(id)
  end
end
"""
)

# ARGV: prefix, id, body, team, created, cost, scope, record, ttl_ms, max_entries, max_bytes, now
_PUT = (
    _REMOVE
    + """
local id, team, scope, ttl_ms = ARGV[2], ARGV[4], ARGV[7], tonumber(ARGV[9])
local now = tonumber(ARGV[12])
remove(id)
sweep(now - ttl_ms / 1000)
local key = p..'e:'..id
redis.call('HSET', key, 'body', ARGV[3], 'created', ARGV[5], 'cost', ARGV[6])
redis.call('PEXPIRE', key, ttl_ms)
local size = string.len(ARGV[3])
redis.call('HSET', p..'meta', id, cjson.encode({team = team, scope = scope, size = size}))
redis.call('ZADD', p..'lru', now, id)
redis.call('ZADD', p..'created', ARGV[5], id)
redis.call('ZADD', p..'t:'..team, ARGV[5], id)
redis.call('SADD', p..'teams', team)
redis.call('INCRBY', p..'bytes', size)
if scope ~= '' then
  redis.call('HSET', p..'v:'..scope, id, ARGV[8])
  redis.call('PEXPIRE', p..'v:'..scope, ttl_ms)
  redis.call('XADD', p..'log', 'MAXLEN', '~', LOG_LENGTH, '*',
    'op', 'add', 'id', id, 'scope', scope, 'record', ARGV[8])
end
local max_entries, max_bytes = tonumber(ARGV[10]), tonumber(ARGV[11])
while redis.call('HLEN', p..'meta') > max_entries
    or tonumber(redis.call('GET', p..'bytes') or '0') > max_bytes do
  local victim = redis.call('ZRANGE', p..'lru', 0, 0)[1]
  if not victim then break end
  remove(victim)
end
return 1
"""
)

# ARGV: prefix, id, now, ttl_s
_GET = (
    _REMOVE
    + """
local id, now = ARGV[2], tonumber(ARGV[3])
local e = redis.call('HMGET', p..'e:'..id, 'body', 'created', 'cost')
if not e[1] then
  remove(id)
  return false
end
if tonumber(e[2]) < now - tonumber(ARGV[4]) then
  remove(id)
  return false
end
redis.call('ZADD', p..'lru', now, id)
return {e[1], e[3]}
"""
)

# ARGV: prefix, team ('' for all), cutoff ('' for any age)
_CLEAR = (
    _REMOVE
    + """
local teams = ARGV[2] ~= '' and {ARGV[2]} or redis.call('SMEMBERS', p..'teams')
local high = ARGV[3] ~= '' and ARGV[3] or '+inf'
local removed = 0
for _, team in ipairs(teams) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', p..'t:'..team, '-inf', high)) do
    removed = removed + remove(id)
  end
  if redis.call('ZCARD', p..'t:'..team) == 0 then redis.call('SREM', p..'teams', team) end
end
return removed
"""
)


def pack_semantic(semantic: Semantic, created: float) -> bytes:
    vector = base64.b64encode(semantic.vector.astype("<f2").tobytes()).decode()
    return orjson.dumps({"v": vector, "f": semantic.fingerprint, "c": created})


def unpack_semantic(raw: bytes) -> tuple[np.ndarray, Fingerprint, float]:
    record = orjson.loads(raw)
    vector = np.frombuffer(base64.b64decode(record["v"]), dtype="<f2").astype(np.float32)
    fingerprint = tuple(str(sentence) for sentence in record["f"])
    return vector, fingerprint, float(record["c"])


class RedisStore:
    def __init__(self, url: str, prefix: str, index: SemanticIndex | None) -> None:
        self.index = index
        self._prefix = f"{{{prefix}cache}}:"
        self._slot = [self._prefix + "meta"]
        # Requests wait on this client: a Redis that hangs must turn into a miss, not a stall.
        self._redis = open_redis(url, _TIMEOUT_S)
        # The log follower blocks in XREAD on a client of its own.
        self._log_reader = open_redis(url)
        self._put = self._redis.register_script(_PUT)
        self._get = self._redis.register_script(_GET)
        self._clear = self._redis.register_script(_CLEAR)
        self._follower: asyncio.Task[None] | None = None
        self._following = asyncio.Event()

    async def get(self, id: str, ttl_s: float) -> Stored | None:
        found = await self._get(keys=self._slot, args=[self._prefix, id, time.time(), ttl_s])
        if found is None:
            if self.index is not None:
                self.index.remove(id)
            return None
        return Stored(bytes(found[0]), float(found[1]))

    async def put(self, entry: Entry, bounds: Bounds) -> None:
        semantic = entry.semantic
        record = pack_semantic(semantic, entry.created) if semantic else b""
        await self._put(
            keys=self._slot,
            args=[
                self._prefix,
                entry.id,
                entry.body,
                entry.team,
                entry.created,
                entry.cost_usd,
                semantic.scope if semantic else "",
                record,
                int(bounds.ttl_s * 1000),
                bounds.max_entries,
                bounds.max_bytes,
                time.time(),
            ],
        )
        if semantic is not None and self.index is not None:
            self.index.add(
                semantic.scope, entry.id, semantic.vector, semantic.fingerprint, entry.created
            )

    async def hold_scope(self, scope: str) -> None:
        index = self.index
        if index is None or index.has_scope(scope):
            return
        await self._follow()
        # Opened before the read: additions the log brings meanwhile are kept, not lost.
        index.open_scope(scope)
        records: Any = await self._redis.hgetall(f"{self._prefix}v:{scope}")
        for id, raw in records.items():
            vector, fingerprint, created = unpack_semantic(raw)
            index.add(scope, id.decode(), vector, fingerprint, created)

    async def clear(self, team: str | None, older_than_s: float | None) -> int:
        cutoff = "" if older_than_s is None else repr(time.time() - older_than_s)
        removed = int(await self._clear(keys=self._slot, args=[self._prefix, team or "", cutoff]))
        if self.index is not None and team is None and older_than_s is None:
            self.index.clear()
        return removed

    async def usage(self) -> Usage:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hlen(f"{self._prefix}meta")
            pipe.get(f"{self._prefix}bytes")
            entries, size = await pipe.execute()
        return Usage(int(entries), int(size or 0))

    async def add_counters(self, counters: dict[str, float]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for name, value in counters.items():
                pipe.hincrbyfloat(f"{self._prefix}stats", name, value)
            await pipe.execute()

    async def counters(self) -> dict[str, float]:
        raw: Any = await self._redis.hgetall(f"{self._prefix}stats")
        return {name.decode(): float(value) for name, value in raw.items()}

    async def close(self) -> None:
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
        await self._redis.aclose()
        await self._log_reader.aclose()

    async def _follow(self) -> None:
        """Start following the log (once) and wait until its position is known."""
        if self._follower is None:
            self._follower = asyncio.ensure_future(self._follow_log())
        await self._following.wait()

    async def _follow_log(self) -> None:
        """Apply other replicas' semantic additions and removals to this process's index."""
        log_key = f"{self._prefix}log"
        position = "$"
        try:
            last: Any = await self._redis.xrevrange(log_key, count=1)
            position = last[0][0].decode() if last else "0-0"
        except RedisError as error:
            log.warning("cache log unreadable, following new entries only: %s", error)
        finally:
            self._following.set()
        while True:
            try:
                batches: Any = await self._log_reader.xread(
                    {log_key: position}, count=500, block=1000
                )
            except RedisError as error:
                log.warning("cache log unreadable, retrying: %s", error)
                await asyncio.sleep(1.0)
                continue
            for _, events in batches or ():
                for event_id, fields in events:
                    position = event_id.decode()
                    self._apply(fields)

    def _apply(self, fields: dict[bytes, Any]) -> None:
        index = self.index
        if index is None:
            return
        id = fields[b"id"].decode()
        if fields[b"op"] == b"del":
            index.remove(id)
            return
        scope = fields[b"scope"].decode()
        if index.has_scope(scope):
            vector, fingerprint, created = unpack_semantic(fields[b"record"])
            index.add(scope, id, vector, fingerprint, created)
