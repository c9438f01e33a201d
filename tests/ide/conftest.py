"""Gateways for the APIs IDE tools and agents call, in front of the shared simulator.

Besides the simulator as an OpenAI stand-in, the config has a backend reached through
LiteLLM (provider `vllm`: Responses requests cross LiteLLM's bridge to chat) and an Anthropic
backend (counts tokens itself, has no text completions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.llm_proxy.conftest import SIM_CONFIG, backend
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(SIM_CONFIG, tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()


def ide_config(simulator: Simulator) -> dict[str, Any]:
    return {
        "backends": [
            backend(simulator, "mini", "gpt-4o-mini"),
            backend(simulator, "big", "gpt-4o"),
            backend(simulator, "streamy", "m-streamy"),
            {
                "name": "bridged",
                "provider": "vllm",
                "endpoint": simulator.v1,
                "model": "llama-3.1-8b",
                "serves": ["llama"],
            },
            {
                "name": "claude",
                "provider": "anthropic",
                "endpoint": simulator.url,
                "model": "claude-3-5-haiku-latest",
                "api_key_ref": "env:GATEWAY_MASTER_KEY",
            },
        ],
    }


@pytest.fixture(scope="package")
def gateway(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gw = start_gateway(ide_config(simulator), tmp_path_factory.mktemp("ide"))
    yield gw
    gw.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Iterator[httpx.Client]:
    """The simulator with no scripted faults and an empty request record."""
    with simulator.client() as client:
        client.post("/_sim/reset").raise_for_status()
        yield client
