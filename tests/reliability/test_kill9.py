"""Nothing lost to kill -9: every answered request is in the spend log once, after a restart.

The spend log batches in memory; here the batches are 2 s long, so a gateway killed under
load always has answered requests only in memory (and in the write-ahead file). The next
gateway on the same database and spool directory replays them.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bench import openloop
from tests.reliability.conftest import backend
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway

MASTER = "sk-test-master"
# Four gateway start-ups (three killed): allow for a busy machine.
pytestmark = pytest.mark.timeout(2400)


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with scratch_database("reliability") as url:
        yield url


def config(simulator: Simulator, database_url: str, spool: Path) -> dict[str, Any]:
    return {
        "database": {"url": database_url},
        "backends": [backend(simulator, "only", "m-stream", serves=["m"])],
        "limits": {"enabled": False},
        "observability": {"request_log": False},
        "spend": {"flush_interval_ms": 2000, "batch_size": 10000, "spool_dir": str(spool)},
    }


def logged(database_url: str, request_ids: list[str]) -> dict[str, int]:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT request_id, count(*) FROM request_log WHERE request_id = ANY(%s)"
            " GROUP BY request_id",
            (request_ids,),
        ).fetchall()
    return {request_id: count for request_id, count in rows}


def kill_under_load(gw: Gateway, seconds: float) -> list[str]:
    """Load at 50 req/s, SIGKILL `seconds` in; the ids of the requests answered whole."""

    def kill() -> None:
        os.kill(gw.process.pid, signal.SIGKILL)

    schedule = openloop.Schedule(gw.url, MASTER, 50, seconds=seconds + 0.5)
    outcomes = asyncio.run(openloop.run(schedule, [(seconds, kill)]))
    gw.process.wait(timeout=10)
    assert gw.process.returncode == -signal.SIGKILL
    return [o.headers["x-request-id"] for o in outcomes if o.answered]


def test_kill_9_under_load_loses_no_answered_request(
    simulator: Simulator, database_url: str, tmp_path: Path
) -> None:
    settings = config(simulator, database_url, tmp_path / "spool")
    answered: list[str] = []
    for run in range(3):
        (directory := tmp_path / f"run-{run}").mkdir()
        gw = start_gateway(settings, directory, MASTER, ready_timeout_s=600)
        ids = kill_under_load(gw, seconds=1.5)
        assert len(ids) > 10  # the gateway was answering when it died
        answered += ids
    (tmp_path / "after").mkdir()
    gw = start_gateway(settings, tmp_path / "after", MASTER, ready_timeout_s=600)
    try:
        deadline = time.monotonic() + 30
        while len(counts := logged(database_url, answered)) < len(answered):
            assert time.monotonic() < deadline, f"{len(answered) - len(counts)} never logged"
            time.sleep(0.2)
    finally:
        gw.stop()
    assert set(counts) == set(answered)
    assert set(counts.values()) == {1}
