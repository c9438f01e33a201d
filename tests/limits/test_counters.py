"""The two counter stores, Redis (Lua) and in process, held to the same answers."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis
from llm_proxy.limits.counters import (
    Adjustment,
    Charge,
    Counter,
    CounterStore,
    Dimension,
    Enforce,
)
from llm_proxy.limits.leases import Delivered, Lease
from llm_proxy.limits.memory_store import MemoryStore
from llm_proxy.limits.periods import today
from llm_proxy.limits.redis_store import RedisStore

from tests.limits.conftest import REDIS_URL


@pytest.fixture
async def redis_store() -> AsyncIterator[RedisStore]:
    """A Redis store under a fresh prefix, its keys (all hash-tagged) deleted after."""
    prefix = f"gwtest:limits:{uuid.uuid4().hex}:"
    counters = RedisStore(REDIS_URL, prefix, timeout_s=2)
    yield counters
    await counters.close()
    with redis.Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{{{prefix}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest) -> CounterStore:
    if request.param == "memory":
        return MemoryStore()
    redis_counters: RedisStore = request.getfixturevalue("redis_store")
    return redis_counters


def window(name: str, limit: int, window_ms: int = 60_000) -> Counter:
    return Counter(name, Dimension.TOKENS, limit, window_ms=window_ms, owner=f"key:{name}")


def budget(name: str, limit: int) -> Counter:
    period = today()
    return Counter(
        f"{name}:{period.name}",
        Dimension.NANO_USD,
        limit,
        period_end_ms=period.end_ms,
        enforce=Enforce.BELOW,
        alert_thresholds=(0.5, 1.0),
        owner=f"team:{name}",
    )


async def test_a_reservation_is_all_or_nothing(store: CounterStore) -> None:
    roomy, tight = window("roomy", 100), window("tight", 10)
    assert (await store.reserve([Charge(roomy, 8), Charge(tight, 8)])).admitted
    refused = await store.reserve([Charge(roomy, 8), Charge(tight, 8)])
    assert not refused.admitted
    assert [s.wait_ms > 0 for s in refused.states] == [False, True]
    assert await store.read([roomy, tight]) == [8, 8]


async def test_more_than_the_limit_never_fits(store: CounterStore) -> None:
    verdict = await store.reserve([Charge(window("small", 10), 11)])
    assert not verdict.admitted
    assert verdict.states[0].wait_ms == -1


async def test_settling_replaces_the_reservation_and_release_gives_it_back(
    store: CounterStore,
) -> None:
    counter = window("settle", 100)
    first = await store.reserve([Charge(counter, 60)])
    second = await store.reserve([Charge(counter, 30)])
    assert not (await store.reserve([Charge(counter, 20)])).admitted
    await store.settle([Adjustment(Charge(counter, 60), first.at_ms, 12)])
    await store.settle([Adjustment(Charge(counter, 30), second.at_ms, 0)])
    assert await store.read([counter]) == [12]
    assert (await store.reserve([Charge(counter, 88)])).admitted


async def test_a_sliding_window_frees_room_as_it_moves(store: CounterStore) -> None:
    counter = window("slide", 10, window_ms=600)
    assert (await store.reserve([Charge(counter, 10)])).admitted
    refused = await store.reserve([Charge(counter, 1)])
    assert 0 < refused.states[0].wait_ms <= 600
    await asyncio.sleep(refused.states[0].wait_ms / 1000 + 0.05)
    assert (await store.reserve([Charge(counter, 10)])).admitted


async def test_a_budget_admits_until_reached_and_alerts_once_per_threshold(
    store: CounterStore,
) -> None:
    counter = budget("alerts", 100)
    crossed = []
    for _ in range(3):
        verdict = await store.reserve([Charge(counter, 40)])
        assert verdict.admitted
        crossed += await store.settle([Adjustment(Charge(counter, 40), verdict.at_ms, 40)])
    # Under the limit (80 of 100) the third was admitted; it crossed it, so no fourth.
    assert not (await store.reserve([Charge(counter, 1)])).admitted
    assert [(c.threshold, c.used) for c in crossed] == [(0.5, 80), (1.0, 120)]
    # Settling more in the same period crosses nothing again.
    assert await store.settle([Adjustment(Charge(counter, 0), 0, 5)]) == []


async def test_count_only_charges_are_never_refused(store: CounterStore) -> None:
    counted = Counter("counted", Dimension.TOKENS, 1, window_ms=60_000, enforce=Enforce.COUNT)
    for _ in range(3):
        assert (await store.reserve([Charge(counted, 5)])).admitted
    assert await store.read([counted]) == [15]


async def test_an_ended_lease_is_given_back_once_and_its_late_settle_changes_nothing(
    redis_store: RedisStore,
) -> None:
    tokens, spend = window("leased", 100), budget("leased", 10_000)
    charges = [Charge(tokens, 60), Charge(spend, 500)]
    lease = Lease("req_dead", 0)
    verdict = await redis_store.reserve(charges, lease, lease_ms=300)
    assert await redis_store.sweep(10) == 0  # not ended yet
    await asyncio.sleep(0.4)
    assert await redis_store.sweep(10) == 1
    assert await redis_store.sweep(10) == 0
    assert await redis_store.read([tokens, spend]) == [0, 0]
    # Its holder was only slow: settling now must not give it back a second time.
    late = [Adjustment(c, verdict.at_ms, 7, lease) for c in charges]
    await redis_store.settle(late)
    assert await redis_store.read([tokens, spend]) == [0, 0]


async def test_a_renewed_lease_outlives_its_first_end(redis_store: RedisStore) -> None:
    counter = window("renewed", 100)
    lease = Lease("req_alive", 0)
    verdict = await redis_store.reserve([Charge(counter, 40)], lease, lease_ms=300)
    for _ in range(3):
        await asyncio.sleep(0.15)
        await redis_store.renew([lease.holder], 300)
    assert await redis_store.sweep(10) == 0
    await redis_store.settle([Adjustment(Charge(counter, 40), verdict.at_ms, 12, lease)])
    assert await redis_store.read([counter]) == [12]
    await asyncio.sleep(0.4)
    assert await redis_store.sweep(10) == 0  # settled: nothing left to end
    assert await redis_store.read([counter]) == [12]


async def test_a_delivered_answer_settles_its_lease_with_its_usage(
    redis_store: RedisStore,
) -> None:
    requests = Counter("answered:rpm", Dimension.REQUESTS, 100, window_ms=60_000)
    tokens = window("answered:tpm", 1000)
    spend = budget("answered", 10**12)
    # Two parts (the limits' and the budget's reserve calls) under one request's lease.
    lease = Lease("req_answered", 0)
    await redis_store.reserve([Charge(requests, 1), Charge(tokens, 300)], lease, lease_ms=60_000)
    await redis_store.reserve([Charge(spend, 9_000)], Lease("req_answered", 1), lease_ms=60_000)
    answer = Delivered("req_answered", True, 20, 30, 4_000)
    assert await redis_store.settle_delivered([answer, Delivered("req_other", True, 1, 1, 1)]) == 1
    assert await redis_store.read([requests, tokens, spend]) == [1, 50, 4_000]
    assert await redis_store.settle_delivered([answer]) == 0  # once
    assert await redis_store.read([requests, tokens, spend]) == [1, 50, 4_000]


async def test_a_settle_of_many_requests_settles_every_charge_of_each(
    redis_store: RedisStore,
) -> None:
    # 67 requests of 3 charges: 201 adjustments, more than one script call takes, and the
    # last request's three must not be split between two calls.
    counters = [window("many:a", 10**6), window("many:b", 10**6), window("many:c", 10**6)]
    adjustments = []
    for n in range(67):
        lease = Lease(f"req_many_{n}", 0)
        charges = [Charge(c, 50) for c in counters]
        verdict = await redis_store.reserve(charges, lease, lease_ms=60_000)
        adjustments += [Adjustment(c, verdict.at_ms, 10, lease) for c in charges]
    await redis_store.settle(adjustments)
    assert await redis_store.read(counters) == [670, 670, 670]
