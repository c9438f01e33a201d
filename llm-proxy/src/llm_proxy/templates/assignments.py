"""Who is in which variant of a prompt experiment: assigned once, kept, shares held to weight.

A caller seen for the first time goes to the variant furthest below its weighted share of
the callers assigned so far; from then on it keeps that variant. So the split tracks the
weights closely from the first callers on (a hash of each id would drift by the binomial
spread: ±3 % at 200 callers), and a caller never changes version mid-experiment. With
Redis the assignments are shared by every replica (one Lua call, both keys in one slot);
without it they live in process. Restarting an experiment (a new `id`) starts afresh.
"""

from __future__ import annotations

import logging
from typing import Any

from llm_proxy.store.redis_pool import open_redis
from redis.exceptions import RedisError

log = logging.getLogger("llm_proxy.templates")

_TTL_S = 90 * 86_400
# Callers remembered per experiment without Redis; past it newcomers are not remembered.
_MAX_LOCAL = 200_000
_ASSIGN = """
local got = redis.call('HGET', KEYS[1], ARGV[1])
if got then return got end
local n = (#ARGV - 1) / 2
local total, weights = 0, 0
local counts = {}
for i = 0, n - 1 do
  counts[i] = tonumber(redis.call('HGET', KEYS[2], ARGV[2 + 2 * i]) or '0')
  total = total + counts[i]
  weights = weights + tonumber(ARGV[3 + 2 * i])
end
local best, gap = 0, nil
for i = 0, n - 1 do
  local g = (total + 1) * tonumber(ARGV[3 + 2 * i]) / weights - counts[i]
  if gap == nil or g > gap then best, gap = i, g end
end
local name = ARGV[2 + 2 * best]
redis.call('HSET', KEYS[1], ARGV[1], name)
redis.call('HINCRBY', KEYS[2], name, 1)
redis.call('EXPIRE', KEYS[1], TTL)
redis.call('EXPIRE', KEYS[2], TTL)
return name
""".replace("TTL", str(_TTL_S))


def next_variant(variants: list[dict[str, Any]], counts: dict[str, int]) -> str:
    """The variant furthest below its weighted share once one more caller joins."""
    total = sum(counts.values()) + 1
    weights = sum(float(v["weight"]) for v in variants)
    best = max(
        variants,
        key=lambda v: total * float(v["weight"]) / weights - counts.get(str(v["name"]), 0),
    )
    return str(best["name"])


class Assignments:
    def __init__(self, redis_url: str | None, prefix: str) -> None:
        self._redis = open_redis(redis_url) if redis_url else None
        self._script = self._redis.register_script(_ASSIGN) if self._redis else None
        self._prefix = prefix
        self._local: dict[str, dict[str, str]] = {}
        self._counts: dict[str, dict[str, int]] = {}

    async def variant(self, experiment: dict[str, Any], prompt: str, caller: str) -> str:
        """The name of the variant `caller` is in (assigning it now if it is new)."""
        key = f"{prompt}:{experiment.get('id', '')}"
        if self._script is not None:
            try:
                return await self._shared(key, experiment["variants"], caller)
            except RedisError as exc:
                log.warning("experiment assignments unavailable, assigning in process: %s", exc)
        assigned = self._local.setdefault(key, {})
        if caller not in assigned and len(assigned) >= _MAX_LOCAL:
            return next_variant(experiment["variants"], self._counts.get(key, {}))
        if caller not in assigned:
            counts = self._counts.setdefault(key, {})
            name = next_variant(experiment["variants"], counts)
            assigned[caller] = name
            counts[name] = counts.get(name, 0) + 1
        return assigned[caller]

    async def _shared(self, key: str, variants: list[dict[str, Any]], caller: str) -> str:
        assert self._script is not None
        slot = f"{self._prefix}experiment:{{{key}}}"
        args: list[Any] = [caller]
        for variant in variants:
            args += [str(variant["name"]), float(variant["weight"])]
        name = await self._script(keys=[f"{slot}:callers", f"{slot}:counts"], args=args)
        return name.decode() if isinstance(name, bytes) else str(name)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()
