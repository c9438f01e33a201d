"""One stack for the session: simulator, gateway (tracing on), optimizer, all on loopback.

The gateway reaches the optimizer through a wiretap (a TCP relay that keeps what the gateway
sent), so tests can read the delegated credential off the wire. The simulator answers
instantly except `m-slow`, which the deadline and credential-lifetime tests use.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml

from tests.optimizer.wiretap import Wiretap
from tests.support.processes import (
    Gateway,
    Optimizer,
    Simulator,
    free_port,
    spawn_optimizer,
    start_gateway,
    start_simulator,
)
from tests.telemetry.otlp_receiver import OtlpReceiver

MASTER = "sk-test-master-optimizer-0123456789"
SIM_CONFIG: dict[str, Any] = {
    "name": "sim-optimizer",
    "record_limit": 5000,
    "default": {"output_tokens": 12},
    "models": {"m-slow": {"latency_ms": 700}},
}


@dataclass
class Stack:
    simulator: Simulator
    gateway: Gateway
    optimizer_url: str
    tap: Wiretap
    otlp: OtlpReceiver

    def client(self, key: str | None = None) -> openai.OpenAI:
        return openai.OpenAI(
            base_url=self.gateway.v1, api_key=key or self.gateway.master_key, max_retries=0
        )

    def admin(self) -> httpx.Client:
        return self.gateway.client()

    def sim(self) -> httpx.Client:
        return self.simulator.client()

    @contextmanager
    def reconfigured(self, section: str, value: Any) -> Iterator[None]:
        """The gateway with one config section replaced (a reload), then as it was."""
        path = self.gateway.config_path
        original = path.read_text()
        config = yaml.safe_load(original)
        config[section] = value
        path.write_text(yaml.safe_dump(config))
        with self.admin() as admin:
            admin.post("/admin/config/reload").raise_for_status()
            try:
                yield
            finally:
                path.write_text(original)
                admin.post("/admin/config/reload").raise_for_status()

    def sub_calls(self, parent: str, expected: int | None = None) -> list[dict[str, Any]]:
        """The request log's records of `parent`'s sub-calls (written in batches: polled)."""
        deadline = time.monotonic() + 10
        with self.admin() as admin:
            while True:
                rows = admin.get(
                    "/admin/logs", params={"parent_request_id": parent, "limit": 200}
                ).json()["data"]
                if (expected is None or len(rows) >= expected) and (rows or expected == 0):
                    return list(rows)
                if time.monotonic() > deadline:
                    return list(rows)
                time.sleep(0.05)

    def record(self, request_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + 10
        with self.admin() as admin:
            while True:
                answer = admin.get(f"/admin/logs/{request_id}")
                if answer.status_code == 200 or time.monotonic() > deadline:
                    answer.raise_for_status()
                    return dict(answer.json())
                time.sleep(0.05)


def assert_rolled_up(stack: Stack, parent: str, calls: int) -> dict[str, Any]:
    """The parent's record carries its sub-calls' summed tokens and cost; returns it."""
    children = stack.sub_calls(parent, calls)
    assert len(children) == calls
    assert all(child["status"] == 200 for child in children)
    assert all(child["model_routed"] == "gpt-4o-mini" for child in children)
    record = stack.record(parent)
    assert record["parent_request_id"] is None
    assert record["prompt_tokens"] == sum(child["prompt_tokens"] for child in children)
    assert record["completion_tokens"] == sum(child["completion_tokens"] for child in children)
    assert record["cost_usd"] == pytest.approx(sum(child["cost_usd"] for child in children))
    assert record["cost_usd"] > 0
    return record


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    directory = tmp_path_factory.mktemp("optimizer")
    gateway_port, optimizer_port = free_port(), free_port()
    gateway_v1 = f"http://127.0.0.1:{gateway_port}/v1"
    log = directory / "optimizer.log"
    optimizer = spawn_optimizer(optimizer_port, gateway_v1, log, "--keepalive-s", "0.05")
    with ExitStack() as started:
        # Whatever fails to start, what did start is stopped (no orphaned optimizer).
        started.callback(optimizer.stop)
        yield _started(directory, gateway_port, optimizer, optimizer_port, started)


def _started(
    directory: Path,
    gateway_port: int,
    optimizer: Optimizer,
    optimizer_port: int,
    started: ExitStack,
) -> Stack:
    simulator, otlp, tap = start_around(directory, optimizer_port, started)
    config = gateway_config(simulator, tap, directory)
    env = {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_SERVICE_NAME": "llm-proxy-optimizer-test",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        # Starts while the optimizer imports OptiLLM: both take longer than alone.
        gateway = start_gateway(
            config, directory, master_key=MASTER, port=gateway_port, ready_timeout_s=300
        )
    started.callback(gateway.stop)
    optimizer.wait_ready()
    read_catalogue(gateway)
    return Stack(simulator, gateway, optimizer.url, tap, otlp)


def start_around(
    directory: Path, optimizer_port: int, started: ExitStack
) -> tuple[Simulator, OtlpReceiver, Wiretap]:
    """What a gateway of these tests works with: the simulator, a trace receiver and the
    wiretap in front of the optimizer; each stopped with `started`."""
    simulator = start_simulator(SIM_CONFIG, directory)
    started.callback(simulator.stop)
    otlp = OtlpReceiver()
    started.callback(otlp.stop)
    tap = Wiretap(optimizer_port)
    started.callback(tap.close)
    return simulator, otlp, tap


def gateway_config(simulator: Simulator, tap: Wiretap, directory: Path) -> dict[str, Any]:
    """The session gateway's config: the simulator's models, the optimizer behind `tap`."""
    sim = simulator.v1
    return {
        # Idle connections closed after a second: the optimizer must notice and reconnect.
        "gateway": {"keep_alive_s": 1},
        "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
        "observability": {"tracing": True, "request_log": False},
        "backends": [
            {"name": "mini", "provider": "simulator", "endpoint": sim, "model": "gpt-4o-mini",
             "input_cost_per_mtok": 150, "output_cost_per_mtok": 600},
            {"name": "slow", "provider": "simulator", "endpoint": sim, "model": "m-slow",
             "input_cost_per_mtok": 150, "output_cost_per_mtok": 600},
            {"name": "embed", "provider": "simulator", "endpoint": sim,
             "model": "text-embedding-3-small"},
        ],
        "optimizer": {"url": f"http://127.0.0.1:{tap.port}", "deadline_ms": 20000},
    }  # fmt: skip


def read_catalogue(gateway: Gateway) -> None:
    """Runs until one goes through, before the tests: the gateway reads the optimizer's
    catalogue on first use, and on a machine busy enough for that (or the optimizer's first
    sub-call) to time out, the first test would get a plain call or a 502 instead."""
    deadline = time.monotonic() + 120
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    while True:
        # A connection of its own each time: the gateway closes idle ones after a second.
        with gateway.client() as client:
            answer = client.post(
                "/v1/chat/completions", json={**body, "max_tokens": 64, "optillm_approach": "re2"}
            )
        summary = answer.headers.get("x-gateway-optimizer", "")
        if answer.status_code == 200 and "fallback" not in summary:
            return
        assert time.monotonic() < deadline, f"{answer.status_code} {summary} {answer.text}"
        time.sleep(1)
