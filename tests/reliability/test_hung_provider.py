"""A provider that accepts connections and never answers (SIGSTOP) is routed around.

Priority routing with a backup: requests in flight to the hung deployment are hedged to
the backup after their first-byte deadline, new ones go to the backup once the hung
deployment is out of rotation, and no client sees an error. Open-loop load at 50 req/s.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bench import openloop
from bench.openloop import Outcome
from tests.reliability.conftest import Freezable, backend
from tests.support.processes import Gateway, Simulator, start_gateway

RATE_PER_S = 50
MASTER = "sk-test-master"
# A gateway start-up per test, up to 10 minutes on a busy shared machine (seconds on a
# quiet one).
pytestmark = pytest.mark.timeout(1500)


def two_deployments(primary: Simulator, backup: Simulator, **routing: Any) -> dict[str, Any]:
    return {
        "backends": [
            backend(primary, "primary", "m-stream", serves=["m"], priority=0),
            backend(backup, "backup", "m-stream", serves=["m"], priority=1),
        ],
        "routing": {"strategy": "priority", **routing},
        "limits": {"enabled": False},
        "observability": {"request_log": False},
    }


@pytest.fixture
def frozen(hanging_simulator: Freezable) -> Iterator[Freezable]:
    yield hanging_simulator
    hanging_simulator.thaw()


def deployment(outcome: Outcome) -> str:
    return outcome.headers.get("x-gateway-deployment", "")


def hedged_to(outcome: Outcome) -> str:
    return outcome.headers.get("x-gateway-hedged-to", "")


def test_a_hung_deployment_is_hedged_and_routed_around_without_client_errors(
    simulator: Simulator, frozen: Freezable, tmp_path: Any
) -> None:
    gw = start_gateway(
        two_deployments(frozen.simulator, simulator), tmp_path, MASTER, ready_timeout_s=600
    )
    try:
        schedule = openloop.Schedule(gw.url, MASTER, RATE_PER_S, seconds=5.0)
        outcomes = asyncio.run(openloop.run(schedule, [(1.0, frozen.freeze)]))
        with gw.client() as http:
            health = {
                row["deployment"]: row for row in http.get("/v1/providers/health").json()["data"]
            }
    finally:
        gw.stop()
    failed = [o for o in outcomes if not o.answered or "hi" not in o.text]
    assert failed == []
    # Before the hang the primary answers (on a busy machine a request slowed past its
    # deadline is hedged, and may be answered by the backup).
    assert "primary" in [deployment(o) for o in outcomes if o.sent_at < 0.9]
    # Sent to the primary as it froze: rescued by a hedge to the backup.
    hedged = [o for o in outcomes if hedged_to(o) and o.sent_at >= 1.0]
    assert hedged and all(deployment(o) == hedged_to(o) == "backup" for o in hedged)
    # Within 2 s of the hang every new request goes straight to the backup.
    later = [o for o in outcomes if o.sent_at >= 3.0]
    assert later and all(deployment(o) == "backup" for o in later)
    assert all(o.headers["x-gateway-attempts"] == "1" for o in later)
    # One caller's misses bench the deployment for that caller (the shared circuit takes
    # several callers, or the probes: the next test).
    assert health["primary"]["deadlines_missed"] >= 1


def test_health_probes_take_a_hung_deployment_out_of_rotation(
    simulator: Simulator, frozen: Freezable, tmp_path: Any
) -> None:
    probes = {"enabled": True, "interval_s": 0.2, "timeout_s": 0.3, "unhealthy_after": 2}
    gw = start_gateway(
        two_deployments(frozen.simulator, simulator, health_probes=probes),
        tmp_path,
        MASTER,
        ready_timeout_s=600,
    )
    try:
        frozen.freeze()
        state = _wait_for_circuit(gw, "primary", "open")
        assert state["probe_failures"] >= 2
        with gw.client() as http:
            body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            response = http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200
        assert response.headers["x-gateway-deployment"] == "backup"
        assert response.headers["x-gateway-attempts"] == "1"
        # Thawed, a good probe lets the deployment be tried again (half-open).
        frozen.thaw()
        _wait_for_circuit(gw, "primary", "half_open")
    finally:
        gw.stop()


def _wait_for_circuit(gw: Gateway, name: str, state: str, timeout_s: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    row: dict[str, Any] = {}
    with gw.client() as http:
        while time.monotonic() < deadline:
            rows = http.get("/v1/providers/health").json()["data"]
            row = next(r for r in rows if r["deployment"] == name)
            if row["circuit_state"] == state:
                return row
            time.sleep(0.05)
    raise AssertionError(f"{name} never reached {state}: {row}")
