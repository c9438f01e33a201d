"""A real simulator subprocess for the whole module, and OpenAI's schemas to check it against."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.support.openapi import validate

READY = re.compile(r"^simulator listening on (http://127\.0\.0\.1:\d+)$")

SIM_CONFIG = {
    "name": "sim-test",
    "record_limit": 50,
    "seed": 7,
    "default": {"output_tokens": 16},
    "models": {
        "gpt-4o-mini": {"output_tokens": 12},
        "claude-3-5-haiku-latest": {"output_tokens": 10},
        "paced": {"ttft_ms": 20, "tokens_per_second": 400, "output_tokens": 6},
        "late-close": {"close_after_ms": 400},
        "slow-whole": {"latency_ms": 30},
        "flaky-5xx": {"error_5xx_rate": 1.0},
        "flaky-429": {"rate_429_rate": 1.0, "retry_after_s": 2},
        "flaky-timeout": {"timeout_rate": 1.0, "timeout_s": 0.2},
        "flaky-cut": {"cut_stream_rate": 1.0},
        "flaky-malformed": {"malformed_rate": 1.0},
    },
}


def start_simulator(*args: str) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m llm_proxy.simulator` on a free port; return it and its base URL."""
    command = [sys.executable, "-m", "llm_proxy.simulator", "--port", "0", *args]
    # stderr is inherited: a pipe nobody drains could fill up and stall the simulator.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    match = READY.match(line)
    if match is None:
        process.kill()
        raise RuntimeError(f"simulator did not start (its stderr is above): {line!r}")
    return process, match.group(1)


@pytest.fixture(scope="session")
def sim_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = tmp_path_factory.mktemp("sim") / "sim.yaml"
    config.write_text(yaml.safe_dump(SIM_CONFIG))
    process, url = start_simulator("--config", str(config))
    yield url
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def sim(sim_url: str) -> Iterator[httpx.Client]:
    """A client of the shared simulator, reset to no faults and no record before each test."""
    with httpx.Client(base_url=sim_url, timeout=10) as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture(scope="session")
def openapi() -> Callable[[str, Any], None]:
    """`openapi("CreateChatCompletionResponse", body)` raises if `body` breaks the schema."""
    return validate


def sse_events(text: str) -> list[tuple[str | None, str]]:
    """(event name, data) for each event of an SSE body."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name = None
        data = []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        events.append((name, "\n".join(data)))
    return events
