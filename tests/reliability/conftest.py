"""Faults in real processes: simulators stopped with SIGSTOP, gateways killed with SIGKILL.

The package simulator is the healthy backup; a test that needs a deployment to hang
starts its own simulator (`hanging_simulator`) and freezes it, so the kernel still
accepts connections on its port and nothing ever answers them.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.support.processes import Simulator, start_simulator

SIM_CONFIG: dict[str, Any] = {
    "name": "sim-backup",
    "record_limit": 20000,
    "default": {"output_tokens": 12},
    "models": {"m-stream": {"ttft_ms": 5, "tokens_per_second": 2000, "output_tokens": 20}},
}


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


class Freezable:
    """A simulator of its own that a test can freeze (SIGSTOP) and thaw (SIGCONT)."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def freeze(self) -> None:
        os.kill(self.simulator.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self.simulator.process.pid, signal.SIGCONT)


@pytest.fixture(scope="module")
def hanging_simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Freezable]:
    config = {**SIM_CONFIG, "name": "sim-primary"}
    frozen = Freezable(start_simulator(config, tmp_path_factory.mktemp("sim-primary")))
    yield frozen
    frozen.thaw()
    frozen.simulator.stop()


def backend(simulator: Simulator, name: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "simulator",
        "endpoint": simulator.v1,
        "model": model,
        **extra,
    }


def logged(dsn: str, request_ids: list[str]) -> dict[str, int]:
    """How many spend-log rows each of these request ids has (absent: none)."""
    dsn = dsn.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        rows = connection.execute(
            "SELECT request_id, count(*) FROM request_log WHERE request_id = ANY(%s)"
            " GROUP BY request_id",
            (request_ids,),
        ).fetchall()
    return {request_id: count for request_id, count in rows}
