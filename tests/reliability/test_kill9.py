"""Nothing lost to kill -9: every answered request is in the spend log once, after a restart.

The spend log batches in memory; here the batches are 2 s long, so a gateway killed under
load always has answered requests only in memory (and in the write-ahead file). The next
gateway on the same database and spool directory replays them.

A stream is answered once its client has the last event; its record must be on disk by
then. The second test's upstream keeps each stream's body open 1 s after its last event,
so at the kill many streams have given their clients the whole answer and are not over.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench import openloop
from tests.reliability.conftest import SIM_CONFIG, backend, logged
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

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


@pytest.fixture(scope="module")
def late_closing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    """A simulator whose streams end their body 1 s after their last event."""
    models = {"m-stream": {**SIM_CONFIG["models"]["m-stream"], "close_after_ms": 1000}}
    config = {**SIM_CONFIG, "name": "sim-late-close", "models": models}
    simulator = start_simulator(config, tmp_path_factory.mktemp("sim-late-close"))
    yield simulator
    simulator.stop()


def kill_under_load(
    gw: Gateway, seconds: float, schedule: openloop.Schedule | None = None
) -> list[openloop.Outcome]:
    """Load at 50 req/s (or `schedule`), SIGKILL `seconds` in; the answered outcomes."""

    def kill() -> None:
        os.kill(gw.process.pid, signal.SIGKILL)

    schedule = schedule or openloop.Schedule(gw.url, MASTER, 50, seconds=seconds + 0.5)
    outcomes = asyncio.run(openloop.run(schedule, [(seconds, kill)]))
    gw.process.wait(timeout=10)
    assert gw.process.returncode == -signal.SIGKILL
    return [o for o in outcomes if o.answered]


def logged_once_after_a_restart(
    settings: dict[str, Any], directory: Path, database_url: str, answered: list[str]
) -> None:
    """A gateway started on the killed one's database and spool logs each answer once."""
    directory.mkdir()
    gw = start_gateway(settings, directory, MASTER, ready_timeout_s=600)
    try:
        deadline = time.monotonic() + 30
        while len(counts := logged(database_url, answered)) < len(answered):
            assert time.monotonic() < deadline, f"{len(answered) - len(counts)} never logged"
            time.sleep(0.2)
    finally:
        gw.stop()
    assert set(counts) == set(answered)
    assert set(counts.values()) == {1}


def test_kill_9_under_load_loses_no_answered_request(
    simulator: Simulator, database_url: str, tmp_path: Path
) -> None:
    settings = config(simulator, database_url, tmp_path / "spool")
    answered: list[str] = []
    for run in range(3):
        (directory := tmp_path / f"run-{run}").mkdir()
        gw = start_gateway(settings, directory, MASTER, ready_timeout_s=600)
        ids = [o.headers["x-request-id"] for o in kill_under_load(gw, seconds=1.5)]
        assert len(ids) > 10  # the gateway was answering when it died
        answered += ids
    logged_once_after_a_restart(settings, tmp_path / "after", database_url, answered)


def test_kill_9_after_streams_end_loses_none_of_them(
    late_closing: Simulator, database_url: str, tmp_path: Path
) -> None:
    settings = config(late_closing, database_url, tmp_path / "spool")
    # Messages on Anthropic's own wire: through LiteLLM's translation a stream ends at its
    # last event, and nothing would be left open at the kill.
    settings["backends"].append(
        {
            "name": "claude",
            "provider": "anthropic",
            "endpoint": late_closing.url,
            "model": "m-stream",
            "serves": ["c"],
            "api_key_ref": "env:GATEWAY_MASTER_KEY",
        }
    )
    (tmp_path / "killed").mkdir()
    gw = start_gateway(settings, tmp_path / "killed", MASTER, ready_timeout_s=600)
    apis: tuple[openloop.Api, ...] = ("chat", "messages", "responses", "completions")
    schedule = openloop.Schedule(
        gw.url, MASTER, 40, seconds=3.0, apis=apis, stream=True, models={"messages": "c"}
    )
    killed_at = 2.5
    answered = kill_under_load(gw, killed_at, schedule)
    # Answered, and still open when the gateway died: their clients had the last event,
    # the upstream had not ended the body yet. Every API has some.
    caught = [o for o in answered if o.sent_at + o.took_s >= killed_at - 0.05]
    assert {o.api for o in caught} == set(apis), [o.api for o in caught]
    ids = [o.headers["x-request-id"] for o in answered]
    logged_once_after_a_restart(settings, tmp_path / "after", database_url, ids)
