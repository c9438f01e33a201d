"""Two simulators standing for two regions (`sim-eu`, `sim-us`), and helpers to make teams and
keys and to put policies into the gateway's versioned config through the admin API.

Each simulator's name comes back on every answer (`x-sim-instance`) and each keeps what it
received, so a test sees which region served a request and that the other was sent nothing.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import delete_redis_prefix, scratch_database
from tests.support.processes import Gateway, Simulator, start_simulator

REDIS_URL = "redis://127.0.0.1:6379/0"
MASTER = "sk-test-master-policies"


def region_sim_config(region: str) -> dict[str, Any]:
    return {
        "name": f"sim-{region}",
        "record_limit": 5000,
        "default": {"output_tokens": 12},
        "models": {
            # Fails every request: what a fallback is for.
            "m-flaky": {"error_5xx_rate": 1.0},
            # Holds a concurrency slot long enough to see who else gets one (10 tokens/s).
            "m-narrow": {"tokens_per_second": 10, "output_tokens": 100},
            "m-quota": {"latency_ms": 50, "output_tokens": 100},
        },
    }


@pytest.fixture(scope="package")
def sim_eu(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(region_sim_config("eu"), tmp_path_factory.mktemp("sim-eu"))
    yield sim
    sim.stop()


@pytest.fixture(scope="package")
def sim_us(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(region_sim_config("us"), tmp_path_factory.mktemp("sim-us"))
    yield sim
    sim.stop()


# Per module: a gateway in database mode serves the managed config it finds stored, so a
# module sharing another's database would get that module's backends.
@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with scratch_database("policies") as url:
        yield url


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    prefix = f"gwtest:policies:{secrets.token_hex(4)}:"
    yield prefix
    delete_redis_prefix(prefix, REDIS_URL)


def backend(sim: Simulator, name: str, model: str, region: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "simulator",
        "endpoint": sim.v1,
        "model": model,
        "region": region,
        **extra,
    }


def base_config(
    database_url: str, redis_prefix: str, directory: Path, **sections: Any
) -> dict[str, Any]:
    return {
        "config": {"mode": "database"},
        "database": {"url": database_url},
        "redis": {"url": REDIS_URL, "prefix": redis_prefix},
        "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
        "observability": {"request_log": False},
        **sections,
    }


def received(sim: Simulator) -> int:
    """How many requests the simulator answered since its last reset."""
    with sim.client() as client:
        total: int = client.get("/_sim/stats").json()["total"]
    return total


def reset(*sims: Simulator) -> None:
    for sim in sims:
        with sim.client() as client:
            client.post("/_sim/reset").raise_for_status()


def team_key(gateway: Gateway, name: str, **key_fields: Any) -> tuple[str, str, str]:
    """A new team and a key of it: (team id, key id, key secret)."""
    with gateway.client() as http:
        team = http.post("/admin/teams", json={"name": f"{name}-{secrets.token_hex(3)}"})
        assert team.status_code == 201, team.text
        team_id = team.json()["id"]
        key = http.post(
            "/admin/keys", json={"name": f"{name}-key", "team_id": team_id, **key_fields}
        )
        assert key.status_code == 201, key.text
    return team_id, key.json()["id"], key.json()["key"]


def set_policies(gateway: Gateway, policies: dict[str, Any]) -> int:
    """A new config version with these policies, applied before this returns."""
    with gateway.client() as http:
        current = http.get("/admin/config")
        assert current.status_code == 200, current.text
        document = {**current.json()["document"], "policies": policies}
        written = http.put(
            "/admin/config",
            json={"document": document, "comment": "policies"},
            headers={"if-match": current.headers["etag"]},
        )
        assert written.status_code in (200, 201), written.text
        version: int = written.json()["version"]
        deadline = time.monotonic() + 5
        while http.get("/admin/config").json()["applied_version"] != version:
            assert time.monotonic() < deadline, "policies not applied"
            time.sleep(0.02)
    return version


def log_record(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The spend-log row of a request (written in batches: polled)."""
    deadline = time.monotonic() + 10
    with gateway.client() as http:
        while True:
            answer = http.get(f"/admin/logs/{request_id}")
            if answer.status_code == 200 or time.monotonic() > deadline:
                assert answer.status_code == 200, answer.text
                return dict(answer.json())
            time.sleep(0.05)


def sub_calls(gateway: Gateway, parent: str, expected: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    with gateway.client() as http:
        while True:
            rows: list[dict[str, Any]] = http.get(
                "/admin/logs", params={"parent_request_id": parent, "limit": 200}
            ).json()["data"]
            if len(rows) >= expected or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


def wait_for(check: Any, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
