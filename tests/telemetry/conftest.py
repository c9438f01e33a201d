"""Gateways with telemetry on, in front of the simulator, exporting to a loopback receiver.

Gateways keep their state in a SQLite file of their own test's folder; the query-API
tests also run on a private PostgreSQL database (`gw_telemetry_<random>`, dropped at the
end). Nothing here writes to Redis.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.llm_proxy.conftest import SIM_CONFIG
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway
from tests.telemetry.otlp_receiver import OtlpReceiver

MASTER = "sk-test-master-telemetry-0123456789"


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with scratch_database("telemetry") as url:
        yield url


def sim_backend(simulator: Simulator, name: str, model: str, **extra: Any) -> dict[str, Any]:
    endpoint = simulator.v1
    return {"name": name, "provider": "simulator", "endpoint": endpoint, "model": model, **extra}


def gateway_config(simulator: Simulator, directory: Path, **sections: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}"},
        "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
        "backends": [
            sim_backend(simulator, "mini", "gpt-4o-mini"),
            sim_backend(simulator, "streamy", "m-streamy"),
            sim_backend(simulator, "embed", "text-embedding-3-small"),
        ],
    }
    config.update(sections)
    return config


def tracing_env(otlp: OtlpReceiver) -> dict[str, str]:
    """The standard variables a deployment would set to export traces to a collector."""
    return {
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_SERVICE_NAME": "llm-proxy-test",
    }


class LogTail:
    """Everything a running gateway printed so far: its stdout, read by a thread as it comes."""

    def __init__(self, gateway: Gateway) -> None:
        assert gateway.output is not None
        self.lines = gateway.output.lines

    def json_lines(self) -> list[dict[str, Any]]:
        parsed = []
        for line in list(self.lines):
            if line.startswith("{"):
                parsed.append(json.loads(line))
        return parsed

    def requests(self) -> list[dict[str, Any]]:
        return [line for line in self.json_lines() if line.get("logger") == "llm_proxy.requests"]


def launch(config: dict[str, Any], directory: Path, env: dict[str, str] | None = None) -> Gateway:
    """A gateway process with exactly these OTEL_*/PROMETHEUS_* variables, no others."""
    with pytest.MonkeyPatch.context() as patch:
        for name in [n for n in os.environ if n.startswith(("OTEL_", "PROMETHEUS_"))]:
            patch.delenv(name)
        for name, value in (env or {}).items():
            patch.setenv(name, value)
        directory.mkdir(parents=True, exist_ok=True)
        return start_gateway(config, directory, master_key=MASTER)


def shared_config(simulator: Simulator, directory: Path) -> dict[str, Any]:
    """Every model the tests use: a fallback pair, the cache, a 3-per-minute model, and
    m-fragile, whose circuit a test opens (5 failures in a row, the default)."""
    return gateway_config(
        simulator,
        directory,
        backends=[
            sim_backend(simulator, "mini", "gpt-4o-mini"),
            sim_backend(simulator, "streamy", "m-streamy"),
            sim_backend(simulator, "embed", "text-embedding-3-small"),
            sim_backend(simulator, "primary-dep", "m-primary", serves=["primary"]),
            sim_backend(simulator, "secondary-dep", "m-secondary", serves=["secondary"]),
            sim_backend(simulator, "limited", "m-limited"),
            sim_backend(simulator, "cached", "m-cached"),
            sim_backend(simulator, "fragile", "m-fragile"),
        ],
        routing={
            "fallbacks": {"primary": ["secondary"]},
            "retries": {"max_attempts": 2, "backoff_base_ms": 1},
            # The tests' one caller (the master key) may open a circuit on its own.
            "circuit_breaker": {"min_callers": 1},
        },
        cache={"enabled": True},
        limits={"rules": [{"model": "m-limited", "per": "model", "rpm": 3}]},
    )


@pytest.fixture(scope="package")
def traced(
    simulator: Simulator, otlp: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """Tracing on, exporting to the loopback receiver."""
    directory = tmp_path_factory.mktemp("traced")
    gateway = launch(shared_config(simulator, directory), directory, tracing_env(otlp))
    yield gateway
    gateway.stop()


@dataclass
class Plain:
    gateway: Gateway
    log: LogTail
    database_url: str


@pytest.fixture(scope="package")
def plain(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plain]:
    """Telemetry at its defaults (no tracing), on SQLite, its stdout captured."""
    directory = tmp_path_factory.mktemp("plain")
    gateway = launch(shared_config(simulator, directory), directory)
    yield Plain(gateway, LogTail(gateway), f"sqlite+aiosqlite:///{directory / 'gateway.db'}")
    gateway.stop()
