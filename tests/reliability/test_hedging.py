"""Hedging at a latency percentile: a request still waiting past its deployment's p95 goes
to another deployment too; the first answer wins and the request is counted once.

Two simulators serve one model under the priority strategy. Once the primary has been
measured (its plain answers take milliseconds), the next requests meet a scripted fault
there (no answer for 5 s): each is hedged to the backup after the primary's p95, long
before its deadline (floor 10 s here), and answered by it. The request's limits (rpm,
tpm), its team's budget (tokens, USD) and the spend log count each request once, with
the backup's usage; `x-gateway-hedged-to`, the log's `hedged_to`/`hedge_trigger` and
`gateway_hedges_total` show the hedges.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.reliability.conftest import SIM_CONFIG, backend
from tests.support.processes import Simulator, start_gateway, start_simulator

MASTER = "sk-test-master"
pytestmark = pytest.mark.timeout(1500)
PRICES = {"input_cost_per_mtok": 1000.0, "output_cost_per_mtok": 2000.0}
HEDGE = {"after_percentile": 95, "min_samples": 20}
HUNG = 4


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    simulator = start_simulator(
        {**SIM_CONFIG, "name": "sim-primary"}, tmp_path_factory.mktemp("sim-primary")
    )
    yield simulator
    simulator.stop()


def config(primary: Simulator, backup: Simulator) -> dict[str, Any]:
    return {
        "backends": [
            backend(primary, "primary", "m-stream", serves=["m"], priority=0, **PRICES),
            backend(backup, "backup", "m-stream", serves=["m"], priority=1, **PRICES),
        ],
        "routing": {
            "groups": {"m": {"strategy": "priority", "hedge": HEDGE}},
            "deadlines": {"floor_s": 10, "cap_s": 30},
        },
        "observability": {"request_log": False},
        "spend": {"flush_interval_ms": 20},
    }


def create(http: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    created = http.post(path, json=body)
    assert created.status_code in (200, 201), created.text
    answer: dict[str, Any] = created.json()
    return answer


def ask(http: httpx.Client, key: str) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 12}
    return http.post("/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"})


def test_a_request_past_the_deployments_p95_is_hedged_and_counted_once(
    primary: Simulator, simulator: Simulator, tmp_path: Path
) -> None:
    gw = start_gateway(config(primary, simulator), tmp_path, MASTER, ready_timeout_s=600)
    try:
        with gw.client() as http:
            for _ in range(HEDGE["min_samples"] + 5):  # the primary measured
                assert ask(http, MASTER).status_code == 200
            budget = create(
                http, "/admin/budgets", {"name": "b", "usd_daily": 1e6, "tokens_daily": 10**9}
            )
            team = create(http, "/admin/teams", {"name": "t", "budget_id": budget["id"]})
            issued = create(
                http, "/admin/keys", {"name": "k", "team_id": team["id"], "rpm": 1000, "tpm": 10**6}
            )
            with primary.client() as sim:
                fault = {"fault": "timeout", "count": HUNG, "timeout_s": 5}
                sim.post("/_sim/faults", json=fault).raise_for_status()
            answers = []
            for _ in range(HUNG):
                started = time.monotonic()
                answers.append((ask(http, issued["key"]), time.monotonic() - started))
            logs = _logs(http, issued["id"], HUNG)
            usage = http.get("/admin/limits/usage", params={"key_id": issued["id"]}).json()["data"]
            metrics = http.get("/metrics").text
    finally:
        gw.stop()
    for response, took_s in answers:
        assert response.status_code == 200, response.text
        assert response.headers["x-gateway-hedged-to"] == "backup"
        assert response.headers["x-gateway-deployment"] == "backup"
        assert took_s < 5  # the hedge answered, not the hung primary (nor its deadline)
    ids = {r.headers["x-request-id"] for r, _ in answers}
    assert {row["request_id"] for row in logs} == ids  # one row each
    assert {(row["hedged_to"], row["hedge_trigger"], row["deployment"]) for row in logs} == {
        ("backup", "p95", "backup")
    }
    # Counted once: the counters hold exactly what the log holds, the backup's usage.
    tokens = sum(row["prompt_tokens"] + row["completion_tokens"] for row in logs)
    cost = sum(row["cost_usd"] for row in logs)
    assert tokens > 0 and cost > 0
    assert _counter(usage, "rpm") == HUNG
    assert _counter(usage, "tpm") == tokens
    assert _counter(usage, "budget:", ":tokens:") == tokens
    assert _counter(usage, "budget:", ":usd:") == pytest.approx(cost)
    labels = ('model="m"', 'trigger="p95"', 'answered_by="hedge"')
    assert _sample(metrics, "gateway_hedges_total", labels) >= HUNG


def _logs(http: httpx.Client, key_id: str, count: int) -> list[dict[str, Any]]:
    """The key's spend-log rows, once all `count` are written (the writer batches)."""
    deadline = time.monotonic() + 30
    while True:
        rows: list[dict[str, Any]] = http.get("/admin/logs", params={"key_id": key_id}).json()[
            "data"
        ]
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _counter(usage: list[dict[str, Any]], *parts: str) -> float:
    matching = [row for row in usage if all(part in row["counter"] for part in parts)]
    assert len(matching) == 1, (parts, [row["counter"] for row in usage])
    used: float = matching[0]["used"]
    return used


def _sample(metrics: str, name: str, labels: tuple[str, ...]) -> float:
    for line in metrics.splitlines():
        if line.startswith(name + "{") and all(label in line for label in labels):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_bad_hedge_settings_are_refused_naming_the_field(
    simulator: Simulator, tmp_path: Path
) -> None:
    settings = {
        "backends": [
            backend(simulator, "primary", "m-stream", serves=["m"], hedge={"after_ms": -5}),
            backend(simulator, "backup", "m-stream", serves=["m"], hedge={}),
        ],
        "routing": {
            "groups": {"m": {"hedge": {"after_percentile": 120}}},
            "hedge": {"after_percentile": 95, "after_ms": 200},
        },
    }
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(settings))
    checked = subprocess.run(
        [sys.executable, "-m", "llm_proxy", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert checked.returncode != 0
    one_of = "give exactly one of after_percentile (50 to 99.9) or after_ms"
    for problem in (
        "backends.0.hedge.after_ms: Input should be greater than 0",
        f"backends.1.hedge: {one_of}",
        "routing.groups.m.hedge.after_percentile: Input should be less than 100",
        f"routing.hedge: {one_of}",
    ):
        assert any(problem in line for line in checked.stderr.splitlines()), checked.stderr
