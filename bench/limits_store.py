"""The counters' cost in Redis: a limit check on one server against a Redis Cluster, and the
lease sweep's.

    .venv/bin/python -m bench.limits_store [--calls 2000] [--leases 1000]

Drives `limits.redis_store.RedisStore` in process, as the gateway does, on the machine's
Redis (127.0.0.1:6379, a scratch prefix deleted after) and on a 3-master Redis Cluster it
starts on loopback free ports (`tests/support/redis_cluster`). Per call, one after another:
a reservation on three counters under a lease (rpm and tpm windows, a daily budget, as a
keyed request with a team budget charges), then its settle; and the same reservation
without a lease, for what the lease adds. The sweep: one call when no
lease has ended (what every replica pays every `lease_s / 3`), then `--leases` ended leases
given back 100 a call. On the cluster (whose nodes serve only this run) it also reads the
time its nodes spent in scripts per reserve + settle (INFO commandstats), with and without a
lease. Print `uptime` with the figures: this machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import redis
from llm_proxy.limits.counters import Adjustment, Charge, Counter, Dimension, Enforce
from llm_proxy.limits.leases import Lease
from llm_proxy.limits.periods import MINUTE_MS, today
from llm_proxy.limits.redis_store import RedisStore
from redis.cluster import RedisCluster

from bench.stats import percentile
from tests.support.redis_cluster import redis_cluster

_SINGLE = "redis://127.0.0.1:6379/0"


def _counters(name: str) -> list[Counter]:
    day = today()
    return [
        Counter(f"{name}:rpm", Dimension.REQUESTS, 10**9, window_ms=MINUTE_MS),
        Counter(f"{name}:tpm", Dimension.TOKENS, 10**12, window_ms=MINUTE_MS),
        Counter(
            f"budget:{name}:usd:{day.name}",
            Dimension.NANO_USD,
            10**15,
            period_end_ms=day.end_ms,
            enforce=Enforce.BELOW,
        ),
    ]


async def _calls(
    store: RedisStore, calls: int, leased: bool = True
) -> tuple[list[float], list[float]]:
    """Milliseconds per reserve and per settle (`leased`: under a lease, as the gateway)."""
    counters = _counters("bench" if leased else "bare")
    reserve_ms, settle_ms = [], []
    for n in range(calls):
        lease = Lease(f"req_{n}", 0) if leased else None
        charges = [Charge(counters[0], 1), Charge(counters[1], 300), Charge(counters[2], 9000)]
        started = time.perf_counter()
        verdict = await store.reserve(charges, lease, 30_000)
        reserve_ms.append((time.perf_counter() - started) * 1000)
        adjustments = [Adjustment(c, verdict.at_ms, c.amount // 2, lease) for c in charges]
        started = time.perf_counter()
        await store.settle(adjustments)
        settle_ms.append((time.perf_counter() - started) * 1000)
    return reserve_ms, settle_ms


async def _sweep(store: RedisStore, leases: int) -> tuple[float, float]:
    """The idle sweep's p50 (ms), and microseconds per ended lease given back."""
    idle = []
    for _ in range(200):
        started = time.perf_counter()
        await store.sweep(100)
        idle.append((time.perf_counter() - started) * 1000)
    counters = _counters("swept")
    for n in range(leases):
        charges = [Charge(counters[0], 1), Charge(counters[1], 300), Charge(counters[2], 9000)]
        await store.reserve(charges, Lease(f"dead_{n}", 0), 1)
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    ended = 0
    while (batch := await store.sweep(100)) > 0:
        ended += batch
    per_lease_us = (time.perf_counter() - started) * 1e6 / max(1, ended)
    assert ended == leases, f"{ended} of {leases} ended"
    return percentile(idle, 50) or 0.0, per_lease_us


class _ScriptTime:
    """Microseconds the cluster's nodes spent in scripts (only this run uses them)."""

    def __init__(self, url: str) -> None:
        host, port = url.rsplit("/", 1)[1].split(":")
        self._client = RedisCluster(host=host, port=int(port))

    def reset(self) -> None:
        self._client.config_resetstat(target_nodes=RedisCluster.ALL_NODES)

    def per_call_us(self, calls: int) -> float:
        stats = self._client.info("commandstats", target_nodes=RedisCluster.ALL_NODES)
        spent = sum(
            node.get("cmdstat_evalsha", {}).get("usec", 0)
            + node.get("cmdstat_eval", {}).get("usec", 0)
            for node in stats.values()
        )
        return float(spent) / calls


async def _measure(url: str, prefix: str, calls: int, leases: int) -> str:
    store = RedisStore(url, prefix, timeout_s=2)
    server = _ScriptTime(url) if url.startswith("redis+cluster://") else None
    try:
        if server is not None:
            server.reset()
        bare_ms, _ = await _calls(store, calls, leased=False)
        bare_us = server.per_call_us(calls) if server is not None else None
        if server is not None:
            server.reset()
        reserve_ms, settle_ms = await _calls(store, calls)
        leased_us = server.per_call_us(calls) if server is not None else None
        idle_ms, per_lease_us = await _sweep(store, leases)
    finally:
        await store.close()
    in_redis = (
        f"Redis time per reserve + settle: {bare_us:.1f} µs without a lease, "
        f"{leased_us:.1f} µs with; "
        if bare_us is not None and leased_us is not None
        else ""
    )
    return (
        in_redis + f"reserve without a lease p50 {percentile(bare_ms, 50):.3f} ms; "
        f"reserve p50 {percentile(reserve_ms, 50):.3f} ms p99 {percentile(reserve_ms, 99):.3f} ms; "
        f"settle p50 {percentile(settle_ms, 50):.3f} ms p99 {percentile(settle_ms, 99):.3f} ms; "
        f"idle sweep p50 {idle_ms:.3f} ms; {per_lease_us:.1f} µs per ended lease"
    )


def _delete(prefix: str) -> None:
    with redis.Redis.from_url(_SINGLE) as client:
        keys = list(client.scan_iter(match=f"{{{prefix}*", count=1000))
        if keys:
            client.delete(*keys)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--leases", type=int, default=1000)
    args = parser.parse_args()
    prefix = f"bench:limits:{secrets.token_hex(4)}:"
    try:
        single = asyncio.run(_measure(_SINGLE, prefix, args.calls, args.leases))
    finally:
        _delete(prefix)
    print(f"single server: {single}")
    with tempfile.TemporaryDirectory() as directory, redis_cluster(Path(directory)) as url:
        clustered = asyncio.run(_measure(url, prefix, args.calls, args.leases))
    print(f"3-master cluster: {clustered}")


if __name__ == "__main__":
    main()
