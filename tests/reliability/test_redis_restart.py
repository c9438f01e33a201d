"""Redis stopped and started again under load: the fail mode holds, the counters recover.

A Redis server of the test's own (the shared one keeps serving everyone else), stopped
with SIGTERM two seconds into open-loop load and started again on the same port; limits
fail open (the default): no client sees a 5xx while it is down, and once it is back the
requests are counted again.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench import openloop
from tests.reliability.conftest import backend
from tests.support.processes import Simulator, free_port, start_gateway

MASTER = "sk-test-master"
# A gateway start-up per test, up to 10 minutes on a busy shared machine (seconds on a
# quiet one).
pytestmark = pytest.mark.timeout(1500)


class RedisServer:
    def __init__(self, port: int, directory: Path) -> None:
        self.port = port
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


def test_redis_stopped_and_started_under_load(
    simulator: Simulator, own_redis: RedisServer, tmp_path: Path
) -> None:
    config = {
        "backends": [backend(simulator, "only", "m-stream", serves=["m"])],
        "redis": {"url": f"redis://127.0.0.1:{own_redis.port}/0", "prefix": "gwtest:rel:"},
        "limits": {
            "rules": [{"model": "m", "per": "model", "rpm": 1_000_000}],
            "redis_timeout_ms": 100,
            "redis_retry_s": 0.5,
        },
        "observability": {"request_log": False},
    }
    gw = start_gateway(config, tmp_path, MASTER, ready_timeout_s=600)
    try:
        schedule = openloop.Schedule(gw.url, MASTER, 30, seconds=6.0)
        events = [(2.0, own_redis.stop), (4.0, own_redis.start)]
        outcomes = asyncio.run(openloop.run(schedule, events))
        assert [o for o in outcomes if not o.answered] == []
        # Back: counted again (the restarted Redis kept nothing, so count from zero).
        with gw.client() as http:
            for _ in range(3):
                assert http.post("/v1/chat/completions", json=_chat()).status_code == 200
            rows = http.get("/admin/limits/usage", params={"model": "m"}).json()["data"]
    finally:
        output = gw.stop()
    assert "counter store unavailable" in output
    used = next(row["used"] for row in rows if row["unit"] == "requests")
    assert used >= 3


def _chat() -> dict[str, object]:
    return {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
