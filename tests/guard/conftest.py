"""One gateway in front of the simulator for the guard's tests, reconfigured per test.

Starting a gateway is slow on a loaded machine, so the package starts one and each test
installs its `guardrails` section through a config reload (`POST /admin/config/reload`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

MODEL = "gpt-4o-mini"
# Moderation-style classifiers on the simulator (simulator.moderation): one prompt, one verdict.
MODERATION, SLOW_MODERATION = "guard-moderation", "guard-moderation-slow"
# Streams a piece of 4 characters cut anywhere, as a tokenizer splits numbers and addresses,
# 40 ms apart: slower than the guard gathers (20 ms), so it reads each piece on its own.
SUBWORD = "guard-subword"
# The same pieces, 10,000 a second: faster than the guard gathers, so the transport hands it
# dozens of reads' frames at once, and a value spans several reads of one batch.
FAST_SUBWORD = "guard-subword-fast"
_FLAGS = {"violence": ["attack plan"], "self_harm": ["hurt myself"]}
SIM_CONFIG: dict[str, Any] = {
    "name": "sim",
    "record_limit": 200,
    "default": {"output_tokens": 24},
    "models": {
        MODERATION: {"answers": "moderation", "flag_words": _FLAGS},
        SLOW_MODERATION: {"answers": "moderation", "flag_words": _FLAGS, "latency_ms": 3000},
        SUBWORD: {"token_chars": 4, "tokens_per_second": 25},
        FAST_SUBWORD: {"token_chars": 4, "tokens_per_second": 10000, "output_tokens": 80},
    },
}


@pytest.fixture(scope="session")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(SIM_CONFIG, tmp_path_factory.mktemp("guard-sim"))
    yield sim
    sim.stop()


@pytest.fixture(scope="session")
def gateway(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    config = {
        "backends": [
            {"name": name, "provider": "simulator", "endpoint": simulator.v1, "model": model}
            for name, model in (
                ("sim-mini", MODEL),
                ("sim-moderation", MODERATION),
                ("sim-moderation-slow", SLOW_MODERATION),
                ("sim-subword", SUBWORD),
                ("sim-subword-fast", FAST_SUBWORD),
            )
        ],
        "spend": {"flush_interval_ms": 20},
    }
    # One gateway for the package: worth waiting for on a machine busy with other runs.
    gw = start_gateway(config, tmp_path_factory.mktemp("guard-gw"), ready_timeout_s=300)
    yield gw
    gw.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Iterator[httpx.Client]:
    with simulator.client() as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


def configure(gw: Gateway, guardrails: dict[str, Any]) -> None:
    """Install a guardrails section and reload it."""
    config = yaml.safe_load(gw.config_path.read_text())
    config["guardrails"] = guardrails
    gw.config_path.write_text(yaml.safe_dump(config))
    with gw.client() as http:
        http.post("/admin/config/reload").raise_for_status()


def received(sim: httpx.Client) -> list[dict[str, Any]]:
    """The request bodies that reached the upstream."""
    requests = sim.get("/_sim/requests").json()["requests"]
    return [request["body"] for request in requests]
