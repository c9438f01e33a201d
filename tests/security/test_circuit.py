"""Finding 3: one tenant's failing requests neither multiply upstream nor open a circuit
that every tenant shares.

`m-fragile` has two deployments on the simulator. A key whose requests fail the same way
on every attempt (scripted 500s) gets its request tried twice, not three times, and its
failures bench the deployments for that key alone: another team's request right after
is answered, where it used to get 503 `no_deployment_available` for 30 s.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.security.conftest import MASTER, chat_body, team_key, unique
from tests.support.processes import Gateway


def _ask(gateway: Gateway, key: str) -> httpx.Response:
    with gateway.client(key) as http:
        return http.post("/v1/chat/completions", json=chat_body(unique("q"), model="m-fragile"))


def _sent(sim: httpx.Client) -> int:
    return sum(1 for r in sim.get("/_sim/requests").json()["requests"] if r["model"] == "m-fragile")


def _health(gateway: Gateway) -> dict[str, dict[str, Any]]:
    with gateway.client(MASTER) as http:
        rows = http.get("/v1/providers/health").json()["data"]
    return {row["deployment"]: row for row in rows if row["deployment"].startswith("fragile")}


def test_one_keys_failures_do_not_open_the_shared_circuit(
    gateway: Gateway, sim: httpx.Client
) -> None:
    breaker, bystander = team_key(gateway)["key"], team_key(gateway)["key"]
    sim.post("/_sim/faults", json={"fault": "500", "count": 1000, "model": "m-fragile"})
    try:
        failures = [_ask(gateway, breaker)]
        # The request went upstream twice: the second identical failure ended it.
        assert _sent(sim) == 2
        failures += [_ask(gateway, breaker) for _ in range(5)]
        assert _sent(sim) <= 12
        assert all(r.status_code in (502, 503) for r in failures)
        assert {row["circuit_state"] for row in _health(gateway).values()} == {"closed"}
    finally:
        sim.post("/_sim/reset")
    answered = _ask(gateway, bystander)
    assert answered.status_code == 200, answered.text
    # The breaker itself sits out its own bench; it cannot be served by that deployment.
    assert _ask(gateway, breaker).status_code == 503


def test_failures_from_several_callers_still_open_the_circuit(
    gateway: Gateway, sim: httpx.Client
) -> None:
    keys = [team_key(gateway)["key"] for _ in range(3)]
    sim.post("/_sim/faults", json={"fault": "503", "count": 1000, "model": "m-fragile"})
    try:
        for _ in range(2):
            for key in keys:
                _ask(gateway, key)
        states = {row["circuit_state"] for row in _health(gateway).values()}
    finally:
        sim.post("/_sim/reset")
    assert states == {"open"}
    newcomer = team_key(gateway)["key"]
    assert _ask(gateway, newcomer).status_code == 503
