"""A simulator for the whole session and gateways configured in front of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import Gateway, Simulator, start_gateway

SIM_CONFIG: dict[str, Any] = {
    "name": "sim",
    "record_limit": 5000,
    "default": {"output_tokens": 12},
    "models": {
        "m-slow": {"latency_ms": 3000, "ttft_ms": 3000},
        "m-streamy": {"ttft_ms": 5, "tokens_per_second": 2000, "output_tokens": 20},
    },
}


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


def backend(simulator: Simulator, name: str, model: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "provider": "simulator",
        "endpoint": simulator.v1,
        "model": model,
        **extra,
    }


def main_config(simulator: Simulator) -> dict[str, Any]:
    return {
        "backends": [
            backend(simulator, "mini-a", "gpt-4o-mini", weight=1),
            backend(simulator, "mini-b", "gpt-4o-mini", weight=3),
            backend(simulator, "embed", "text-embedding-3-small"),
            backend(simulator, "streamy", "m-streamy"),
            backend(simulator, "slow", "m-slow", timeout_s=10),
            {
                "name": "claude",
                "provider": "anthropic",
                "endpoint": simulator.url,
                "model": "claude-3-5-haiku-latest",
                "api_key_ref": "env:GATEWAY_MASTER_KEY",
            },
        ],
        "routing": {
            "aliases": {"fast": "gpt-4o-mini"},
            "groups": {"m-streamy": {"strategy": "session"}},
        },
    }


@pytest.fixture(scope="module")
def gateway(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(main_config(simulator), tmp_path_factory.mktemp("gw"))
    yield gw
    gw.stop()


@pytest.fixture
def make_gateway(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], Gateway]]:
    started: list[Gateway] = []

    def make(config: dict[str, Any]) -> Gateway:
        gw = start_gateway(config, tmp_path)
        started.append(gw)
        return gw

    yield make
    for gw in started:
        gw.stop()
