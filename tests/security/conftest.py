"""A hostile tester's gateway: one simulator, one gateway for the session, keys of each kind.

The gateway fronts the simulator with the fast path (OpenAI format), the translated path
(an Anthropic backend), a model kept for circuit-breaker tests (`m-fragile`, whose faults
are scripted only by the test that uses it), the exact response cache, a small body
limit and short connection deadlines, so each finding can be tried against it in seconds.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

MASTER = "sk-test-master-security"
METRICS_TOKEN = "metrics-token-for-tests"
# Gateways read it from their environment (observability.metrics_token_ref).
os.environ["GW_TEST_METRICS_TOKEN"] = METRICS_TOKEN
MAX_BODY_BYTES = 256 * 1024
SIM_CONFIG: dict[str, Any] = {
    "name": "sim",
    "record_limit": 5000,
    "default": {"output_tokens": 6},
    # Streams for ~10 s: long enough to leave in the middle.
    "models": {"m-trickle": {"ttft_ms": 5, "tokens_per_second": 20, "output_tokens": 200}},
}

MakeGateway = Callable[..., Gateway]


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(SIM_CONFIG, tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Iterator[httpx.Client]:
    """The simulator with no scripted faults and an empty request record."""
    with simulator.client() as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


def backend(simulator: Simulator, name: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "simulator",
        "endpoint": simulator.v1,
        "model": model,
        **extra,
    }


def security_config(simulator: Simulator, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "gateway": {
            "max_body_bytes": MAX_BODY_BYTES,
            "header_timeout_s": 2,
            "keep_alive_s": 2,
        },
        "backends": [
            backend(simulator, "mini", "gpt-4o-mini"),
            backend(simulator, "fragile-a", "m-fragile"),
            backend(simulator, "fragile-b", "m-fragile"),
            backend(simulator, "trickle", "m-trickle"),
            {
                "name": "claude",
                "provider": "anthropic",
                "endpoint": simulator.url,
                "model": "claude-3-5-haiku-latest",
                "api_key_ref": "env:GATEWAY_MASTER_KEY",
            },
        ],
        "routing": {"retries": {"backoff_base_ms": 1, "backoff_max_ms": 5}},
        "cache": {"enabled": True},
        "observability": {"metrics_token_ref": "env:GW_TEST_METRICS_TOKEN"},
    }
    for name, value in sections.items():
        config[name] = value if isinstance(value, list) else {**config.get(name, {}), **value}
    return config


@pytest.fixture(scope="session")
def gateway(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(security_config(simulator), tmp_path_factory.mktemp("gw"), MASTER)
    yield gw
    gw.stop()


@pytest.fixture
def make_gateway(simulator: Simulator, tmp_path: Path) -> Iterator[MakeGateway]:
    started: list[Gateway] = []

    def make(**sections: Any) -> Gateway:
        gw = start_gateway(security_config(simulator, **sections), tmp_path, MASTER)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        if gw.process.poll() is None:
            gw.stop()


def admin(gateway: Gateway, token: str | None = None) -> httpx.Client:
    return gateway.client(token or MASTER)


def create(gateway: Gateway, resource: str, token: str | None = None, **fields: Any) -> Any:
    with admin(gateway, token) as http:
        response = http.post(f"/admin/{resource}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def unique(name: str) -> str:
    return f"{name}-{secrets.token_hex(4)}"


def team_key(gateway: Gateway, **fields: Any) -> dict[str, Any]:
    """A new team and a key of it: the key's JSON, with its `team_id`."""
    team = create(gateway, "teams", name=unique("team"))
    key: dict[str, Any] = create(gateway, "keys", name=unique("key"), team_id=team["id"], **fields)
    return key


def role_token(gateway: Gateway, role: str) -> str:
    """An admin token of `role` (a developer's with a team of its own)."""
    team = (
        {"team_id": create(gateway, "teams", name=unique("devs"))["id"]}
        if role == "developer"
        else {}
    )
    token: str = create(gateway, "tokens", name=unique(role), role=role, **team)["token"]
    return token


def chat_body(content: Any = "hi", model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


def wait_for(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def logs(gateway: Gateway, **filters: Any) -> list[dict[str, Any]]:
    """The gateway's request log through `/admin/logs` (one page of up to 200)."""
    with admin(gateway) as http:
        response = http.get("/admin/logs", params={"limit": 200, **filters})
    assert response.status_code == 200, response.text
    rows: list[dict[str, Any]] = response.json()["data"]
    return rows
