"""Reservations do not leak: a replica killed with requests in flight holds nothing after its lease.

Replica A takes 50 requests at once: 25 answered quickly, 25 the simulator holds for a
minute. A is killed (SIGKILL) while those 25 are in flight; replica B, alive on the same
Redis, sweeps their leases once they end. Every counter (requests and tokens per minute,
the team's token and USD budgets) then holds exactly what the 25 answers used. And a lease
does not take back what was answered: settles that Redis could not take while it was frozen
(SIGSTOP of a Redis of the test's own) are written once it answers again.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.reliability.conftest import backend
from tests.reliability.test_redis_restart import RedisServer
from tests.support.databases import scratch_database, scratch_redis_prefix
from tests.support.processes import Gateway, Simulator, free_port, start_gateway, start_simulator

MASTER = "sk-test-master"
REDIS_URL = "redis://127.0.0.1:6379/0"
LEASE_S = 2.0
# $0.001 per input token, $0.002 per output token: nano-USD per token 1e6 and 2e6.
PRICES = {"input_cost_per_mtok": 1000, "output_cost_per_mtok": 2000}
SLOW_S = 60
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def slow_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    config = {
        "name": "sim-leases",
        "default": {"output_tokens": 10},
        "models": {
            "m-quick": {"latency_ms": 100},
            "m-held": {"latency_ms": 1500},
            "m-slow": {"latency_ms": SLOW_S * 1000},
        },
    }
    simulator = start_simulator(config, tmp_path_factory.mktemp("sim-leases"))
    yield simulator
    # It would finish the held requests (a minute) before exiting on SIGTERM.
    simulator.process.kill()
    simulator.process.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis of the test's own: it is frozen, and others' tests use the shared one."""
    (tmp_path / "redis").mkdir()
    server = RedisServer(free_port(), tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def replica_config(
    simulator: Simulator, database_url: str, prefix: str, spool: Path
) -> dict[str, Any]:
    # The slow deployment is not given up on or hedged while the simulator holds it.
    patient = {"timeout_s": 300, "deadlines": {"floor_s": 200, "cap_s": 200}}
    return {
        "database": {"url": database_url},
        "redis": {"url": REDIS_URL, "prefix": prefix},
        "backends": [
            backend(simulator, "quick", "m-quick", **PRICES),
            backend(simulator, "slow", "m-slow", **PRICES, **patient),
        ],
        "routing": {"retries": {"max_attempts": 1}},
        "limits": {
            "lease_s": LEASE_S,
            "rules": [{"per": "key", "rpm": 100_000, "tpm": 10_000_000}],
        },
        "observability": {"request_log": False},
        "spend": {"spool_dir": str(spool)},
    }


class Stored:
    """The replicas' counters and leases, read straight from Redis."""

    def __init__(self, prefix: str) -> None:
        self.client = redis.Redis.from_url(REDIS_URL)
        self.tag = f"{{{prefix}limits}}:"

    def totals(self) -> dict[str, tuple[int, int]]:
        """Every counter: (total held, settled); settled is 0 for sliding windows."""
        found = {}
        for raw in self.client.scan_iter(match=f"{self.tag}*", count=500):
            key = raw.decode().removeprefix(self.tag)
            if key.startswith("lease") or ":alert:" in key:
                continue
            held, settled = self.client.hmget(raw, "t", "s")
            found[key] = (int(held or 0), int(settled or 0))
        return found

    def leases(self) -> int:
        return int(self.client.zcard(f"{self.tag}leases"))


def team_key(gw: Gateway) -> tuple[str, str]:
    with gw.client() as http:
        made = http.post(
            "/admin/budgets", json={"name": "leases", "usd_daily": 1e6, "tokens_daily": 10**9}
        ).json()
        team = http.post("/admin/teams", json={"name": "leases", "budget_id": made["id"]}).json()
        key = http.post("/admin/keys", json={"name": "leases", "team_id": team["id"]}).json()
    return key["key"], team["id"]


def ask(gw: Gateway, key: str, model: str) -> dict[str, Any]:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 50}
    headers = {"authorization": f"Bearer {key}"}
    response = httpx.post(f"{gw.v1}/chat/completions", json=body, headers=headers, timeout=120)
    response.raise_for_status()
    usage: dict[str, Any] = response.json()["usage"]
    return usage


def wait_until(check: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def expected_totals(answered: list[dict[str, Any]], team: str) -> dict[str, int]:
    """What each counter must hold: the answered requests' usage, nothing of the others."""
    tokens = sum(u["total_tokens"] for u in answered)
    nano = sum(u["prompt_tokens"] * 10**6 + u["completion_tokens"] * 2 * 10**6 for u in answered)
    budgets = {f"team:{team}:tokens": tokens, f"team:{team}:usd": nano}
    return {
        "rpm": len(answered),
        "tpm": tokens,
        **budgets,
        **{f"{name}:settled": total for name, total in budgets.items()},
    }


def by_kind(totals: dict[str, tuple[int, int]], team: str) -> dict[str, int]:
    """The counters this test charges, by kind: what each holds (a budget's settled part
    apart, as `…:settled`)."""
    kinds: dict[str, int] = {}
    for key, (held, settled) in totals.items():
        if key.startswith("rule:") and key.endswith((":rpm", ":tpm")):
            kinds[key.rsplit(":", 1)[1]] = held
        for unit in ("tokens", "usd"):
            if key.startswith(f"budget:team:{team}:{unit}:"):
                kinds[f"team:{team}:{unit}"] = held
                kinds[f"team:{team}:{unit}:settled"] = settled
    return kinds


def test_a_killed_replicas_reservations_end_with_their_lease(
    slow_simulator: Simulator, tmp_path: Path
) -> None:
    with scratch_database("leases") as database_url, scratch_redis_prefix("leases") as prefix:
        stored = Stored(prefix)
        (tmp_path / "b").mkdir()
        (tmp_path / "a").mkdir()
        b = start_gateway(
            replica_config(slow_simulator, database_url, prefix, tmp_path / "b" / "spool"),
            tmp_path / "b",
            MASTER,
            ready_timeout_s=600,
        )
        a = start_gateway(
            replica_config(slow_simulator, database_url, prefix, tmp_path / "a" / "spool"),
            tmp_path / "a",
            MASTER,
            ready_timeout_s=600,
        )
        pool = ThreadPoolExecutor(max_workers=50)
        try:
            key, team = team_key(b)
            quick = [pool.submit(ask, a, key, "m-quick") for _ in range(25)]
            slow: list[Future[dict[str, Any]]] = [
                pool.submit(ask, a, key, "m-slow") for _ in range(25)
            ]
            answered = [f.result(timeout=120) for f in quick]
            # The quick ones settled; the slow ones hold their leases, renewed by A well
            # past the first end of a lease while B sweeps.
            wait_until(lambda: stored.leases() == 25, 30, "the 25 slow requests never held")
            time.sleep(3 * LEASE_S)
            assert stored.leases() == 25
            assert not any(f.done() for f in slow)
            expected = expected_totals(answered, team)
            held = by_kind(stored.totals(), team)
            assert held["rpm"] == 50 and held["tpm"] > expected["tpm"]
            os.kill(a.process.pid, signal.SIGKILL)
            a.process.wait(timeout=10)
            wait_until(
                lambda: stored.leases() == 0, 10 * LEASE_S, "the dead replica's leases never ended"
            )
            assert by_kind(stored.totals(), team) == expected
            # B still admits and settles as before.
            after = ask(b, key, "m-quick")
            expected = expected_totals([*answered, after], team)
            wait_until(
                lambda: by_kind(stored.totals(), team) == expected, 10, "B's own settle is off"
            )
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            if a.process.poll() is None:
                a.stop()
            b.stop()
            stored.client.close()


def test_settles_redis_missed_while_frozen_are_written_when_it_answers(
    slow_simulator: Simulator, own_redis: RedisServer, tmp_path: Path
) -> None:
    prefix = "gwtest:blip:"
    config = {
        "redis": {"url": f"redis://127.0.0.1:{own_redis.port}/0", "prefix": prefix},
        "backends": [backend(slow_simulator, "held", "m-held")],
        "routing": {"retries": {"max_attempts": 1}},
        "limits": {
            "lease_s": 5,
            "redis_timeout_ms": 200,
            "redis_retry_s": 0.5,
            "rules": [{"model": "m-held", "per": "model", "rpm": 100_000, "tpm": 10_000_000}],
        },
        "observability": {"request_log": False},
    }
    gw = start_gateway(config, tmp_path, MASTER, ready_timeout_s=600)
    client = redis.Redis(host="127.0.0.1", port=own_redis.port)
    tag = f"{{{prefix}limits}}:"
    server = own_redis.process
    assert server is not None
    pool = ThreadPoolExecutor(max_workers=10)
    try:
        asked = [pool.submit(ask, gw, MASTER, "m-held") for _ in range(10)]
        wait_until(lambda: client.zcard(f"{tag}leases") == 10, 30, "never reserved")
        os.kill(server.pid, signal.SIGSTOP)
        try:
            answered = [f.result(timeout=60) for f in asked]  # settled while Redis is frozen
            time.sleep(1.0)
        finally:
            os.kill(server.pid, signal.SIGCONT)
        wait_until(lambda: client.zcard(f"{tag}leases") == 0, 30, "the settles never landed")
        rule = f"{tag}rule:m-held:model:m-held"
        assert int(client.hget(f"{rule}:rpm", "t") or 0) == 10
        assert int(client.hget(f"{rule}:tpm", "t") or 0) == sum(u["total_tokens"] for u in answered)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        gw.stop()
        client.close()
