"""PostgreSQL stopped and started again under load: records spool and replay, keys keep working.

A server of the test's own (`tests.support.postgres_server`; the machine's keeps serving
everyone else) holds the gateway's keys and its spend log. Open-loop load with a virtual
key; a few seconds in the server is stopped (fast mode: sessions are cut), and started
again on the same port some seconds later. Meanwhile every request is answered: the key
comes from the key cache, whose entries (a 1 s TTL here) keep serving while their reload
fails (LiteLLM users' #38121: 401s after a database blip). The records of the outage go
to the spool (`gateway_spend_spool_backlog` > 0) and are replayed once the server is
back: every answered request is in the log exactly once. The recovery time printed is
from the server accepting connections again to the spool being empty.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import openloop
from tests.reliability.conftest import backend, logged
from tests.support.postgres_server import PostgresServer, private_postgres
from tests.support.processes import Gateway, Simulator, start_gateway

MASTER = "sk-test-master"
pytestmark = pytest.mark.timeout(1500)

STOP_AT_S, DOWN_S, LOAD_S = 2.5, 4.0, 10.0


@pytest.fixture
def postgres() -> Iterator[PostgresServer]:
    with private_postgres() as server:
        yield server


def backlog(gw: Gateway) -> float:
    with gw.client() as http:
        text = http.get("/metrics").text
    lines = [line for line in text.splitlines() if line.startswith("gateway_spend_spool_backlog")]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


class Outage(threading.Thread):
    """Stops the server `at_s` from now, starts it `down_s` later; notes when each was done.

    A thread, since pg_ctl waits for the server and the load must not wait with it.
    """

    def __init__(self, server: PostgresServer, at_s: float, down_s: float) -> None:
        super().__init__(daemon=True)
        self.server = server
        self.at_s, self.down_s = at_s, down_s
        self.began = self.down_at = self.up_at = 0.0

    def run(self) -> None:
        self.began = time.monotonic()
        time.sleep(self.at_s)
        self.server.stop("fast")
        self.down_at = time.monotonic()
        time.sleep(self.down_s)
        self.server.start()
        self.up_at = time.monotonic()


def test_postgres_stopped_and_started_under_load(
    simulator: Simulator, postgres: PostgresServer, tmp_path: Path
) -> None:
    config: dict[str, Any] = {
        "database": {"url": postgres.url},
        "backends": [backend(simulator, "only", "m-stream", serves=["m"])],
        "auth": {"key_cache_ttl_s": 1.0},
        "spend": {"spool_dir": str(tmp_path / "spool"), "retry_interval_s": 0.5},
        "observability": {"request_log": False},
    }
    gw = start_gateway(config, tmp_path, MASTER, ready_timeout_s=600)
    try:
        with gw.client() as http:
            created = http.post("/admin/keys", json={"name": "under-load"})
            assert created.status_code in (200, 201), created.text
            key = created.json()["key"]
        outage = Outage(postgres, STOP_AT_S, DOWN_S)
        backlogs: list[tuple[float, float]] = []
        sampler = threading.Thread(target=_sample, args=(gw, outage, backlogs), daemon=True)

        def begin() -> None:  # as the load's first request leaves
            outage.start()
            sampler.start()

        schedule = openloop.Schedule(gw.url, key, 30, LOAD_S)
        outcomes = asyncio.run(openloop.run(schedule, [(0.0, begin)]))
        outage.join(timeout=60)
        sampler.join(timeout=90)
        assert outage.up_at, "the server did not come back"
    finally:
        gw.stop()
    # Every request answered, during the outage too: no 401, no 5xx.
    failed = [(o.status, o.text[:200]) for o in outcomes if not o.answered]
    assert failed == []
    down = (outage.down_at - outage.began, outage.up_at - outage.began)
    during = [o for o in outcomes if down[0] <= o.sent_at <= down[1]]
    assert len(during) > 50, down
    # Records of the outage went to the spool, and from it to the log: each once.
    peak = max(count for _, count in backlogs)
    assert peak > 0
    emptied = [at for at, count in backlogs if at > outage.up_at and count == 0]
    assert emptied, "the spool was never replayed"
    answered = [o.headers["x-request-id"] for o in outcomes]
    counts = logged(postgres.dsn, answered)
    assert set(counts) == set(answered)
    assert set(counts.values()) == {1}
    recovered_s = emptied[0] - outage.up_at
    print(f"spool empty {recovered_s:.2f} s after the server was back (peak {peak:g} records)")


def _sample(gw: Gateway, outage: Outage, into: list[tuple[float, float]]) -> None:
    """The spool's backlog every 50 ms, until it is empty after the server came back."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        count = backlog(gw)
        into.append((time.monotonic(), count))
        if outage.up_at and count == 0:
            return
        time.sleep(0.05)
