"""A gateway in front of the simulator, its state in a private Postgres database.

The dashboard is built first (`tools/build-dashboard.sh`, cached) and one gateway serves
it at /ui/: the session tests speak HTTP to it, the browser tests drive Chromium at it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.llm_proxy.conftest import SIM_CONFIG
from tests.support.databases import scratch_database
from tests.support.processes import (
    Gateway,
    Simulator,
    free_port,
    spawn_optimizer,
    start_gateway,
    start_simulator,
)

MASTER = "sk-test-master-dashboard-0123456789"
REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "dashboard"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The first test to need the build may wait for it: minutes when no cached build matches."""
    first = next((i for i in items if "dashboard_build" in getattr(i, "fixturenames", ())), None)
    if first is not None:
        first.add_marker(pytest.mark.timeout(1800), append=False)


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(SIM_CONFIG, tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_database("dashboard") as url:
        yield url


@pytest.fixture(scope="session")
def dashboard_build() -> Path:
    """The static export, built (or taken from the cache) the way `make run` does."""
    result = subprocess.run(
        [str(REPO / "tools" / "build-dashboard.sh")], capture_output=True, text=True, timeout=1200
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return DASHBOARD / "out"


def gateway_config(
    simulator: Simulator, directory: Path, database_url: str, **extra: Any
) -> dict[str, Any]:
    return {
        "database": {"url": database_url},
        "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
        "backends": [
            {
                "name": "mini",
                "provider": "simulator",
                "endpoint": simulator.v1,
                "model": "gpt-4o-mini",
            },
            {"name": "big", "provider": "simulator", "endpoint": simulator.v1, "model": "gpt-4o"},
        ],
        **extra,
    }


@pytest.fixture(scope="session")
def gateway(
    simulator: Simulator,
    postgres_url: str,
    dashboard_build: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    """One gateway for the whole package (session API and browser tests): it serves /ui/,
    with the optimizer service beside it (the Optimizer page shows a real run's fan-out)."""
    directory = tmp_path_factory.mktemp("gateway")
    port, optimizer_port = free_port(), free_port()
    optimizer = spawn_optimizer(
        optimizer_port, f"http://127.0.0.1:{port}/v1", directory / "optimizer.log"
    )
    try:
        # Database mode: the Backends & routing page writes config versions and rolls back.
        config = gateway_config(
            simulator,
            directory,
            postgres_url,
            gateway={"ui_dir": str(dashboard_build)},
            config={"mode": "database", "poll_interval_s": 5},
            optimizer={"url": f"http://127.0.0.1:{optimizer_port}", "deadline_ms": 60000},
        )
        # Generous: this machine's cores are shared, and start-up imports LiteLLM.
        started = start_gateway(config, directory, MASTER, port=port, ready_timeout_s=180)
        try:
            optimizer.wait_ready()
            yield started
        finally:
            started.stop()
    finally:
        optimizer.stop()
