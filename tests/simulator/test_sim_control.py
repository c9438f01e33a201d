"""The control API, the command line and the in-process app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from llm_proxy.simulator import SimulatorConfig, build_app
from llm_proxy.simulator.config import ModelProfile, load_config

from tests.simulator.conftest import start_simulator

HELLO = [{"role": "user", "content": "Hello"}]


def test_requests_record_what_was_received(sim: httpx.Client) -> None:
    sim.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": HELLO},
        headers={"Traceparent": "00-abc-def-01", "X-Custom": "yes"},
    )
    sim.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"})
    sim.post("/v1/chat/completions", content=b"{broken")
    records = sim.get("/_sim/requests", params={"limit": 3}).json()["requests"]
    assert [r["path"] for r in records] == [
        "/v1/chat/completions",
        "/v1/embeddings",
        "/v1/chat/completions",
    ]
    first = records[0]
    assert first["model"] == "gpt-4o-mini"
    assert first["method"] == "POST"
    assert first["headers"]["traceparent"] == "00-abc-def-01"
    assert first["headers"]["x-custom"] == "yes"
    assert first["body"]["messages"] == HELLO
    assert isinstance(first["time"], float)
    assert records[2]["body"] == "{broken"
    assert records[2]["model"] is None
    assert len(sim.get("/_sim/requests", params={"limit": 1}).json()["requests"]) == 1


def test_the_record_is_bounded(sim: httpx.Client) -> None:
    for _ in range(60):
        sim.post("/v1/embeddings", json={"model": "m", "input": "x", "dimensions": 2})
    assert len(sim.get("/_sim/requests").json()["requests"]) == 50
    assert sim.get("/_sim/stats").json()["total"] == 60


def test_stats_count_by_model_path_and_status(sim: httpx.Client) -> None:
    sim.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})
    sim.post("/v1/chat/completions", json={"model": "flaky-5xx", "messages": HELLO})
    sim.post("/v1/messages", json={"model": "c", "max_tokens": 5, "messages": HELLO})
    stats = sim.get("/_sim/stats").json()
    assert stats["total"] == 3
    assert stats["by_path"] == {"/v1/chat/completions": 2, "/v1/messages": 1}
    assert stats["by_model"] == {"gpt-4o-mini": 1, "flaky-5xx": 1, "c": 1}
    assert sum(stats["by_status"].values()) == 3
    assert stats["by_status"]["200"] == 2


def test_reset_clears_faults_record_and_stats(sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "500", "count": 3})
    sim.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})
    assert sim.post("/_sim/reset").status_code == 200
    assert sim.get("/_sim/faults").json()["queued"] == []
    assert sim.get("/_sim/requests").json()["requests"] == []
    assert sim.get("/_sim/stats").json()["total"] == 0
    assert sim.get("/_sim/stats").headers["x-sim-instance"] == "sim-test"


def test_cli_name_and_default_config() -> None:
    process, url = start_simulator("--name", "east-1")
    try:
        response = httpx.get(url + "/health")
        assert response.status_code == 200
        assert response.headers["x-sim-instance"] == "east-1"
        models = httpx.get(url + "/v1/models").json()["data"]
        assert any(m["id"] == "gpt-4o-mini" for m in models)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_rejects_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("models:\n  gpt-4o:\n    error_5xx_rate: 2\n")
    result = subprocess.run(
        [sys.executable, "-m", "llm_proxy.simulator", "--port", "0", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "error_5xx_rate" in result.stderr


async def test_build_app_serves_in_process() -> None:
    config = SimulatorConfig(name="inproc", models={"m": ModelProfile(output_tokens=3)})
    transport = httpx.ASGITransport(app=build_app(config))
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
        body = {"model": "m", "messages": HELLO, "stream": True}
        response = await client.post("/v1/chat/completions", json=body)
    assert response.headers["x-sim-instance"] == "inproc"
    assert response.text.endswith("data: [DONE]\n\n")
    assert response.text.count('"content":"') == 4  # the role chunk's "" and three tokens


@pytest.mark.parametrize("value", ["abc", "-5"])
def test_bad_override_headers(sim: httpx.Client, value: str) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO}
    response = sim.post("/v1/chat/completions", json=body, headers={"x-sim-latency-ms": value})
    assert response.status_code == 400
    assert "x-sim-latency-ms" in response.json()["error"]["message"]


def test_model_profiles_inherit_from_default(tmp_path: Path) -> None:
    path = tmp_path / "sim.yaml"
    path.write_text(
        "default: {output_tokens: 4, ttft_ms: 5}\nmodels:\n  m: {error_5xx_rate: 0.5}\n"
    )
    config = load_config(path, name="n")
    assert config.name == "n"
    assert config.profile("m").output_tokens == 4
    assert config.profile("m").error_5xx_rate == 0.5
    assert config.profile("other") == config.default
