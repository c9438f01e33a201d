"""gateway.yaml: bad files rejected with one line per problem; hot reload keeps serving."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import yaml

from tests.llm_proxy.conftest import backend
from tests.support.processes import Gateway, Simulator

BAD_CONFIG = """
gateway:
  listen: {port: 99999}
backends:
  - {name: a, provider: openai, model: gpt-4o, api_key_ref: sk-live-123, weight: 0}
  - {name: a, provider: vllm, model: llama}
routing:
  strategy: fastest
  surprise: true
"""


def check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llm_proxy", "check-config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_bad_config_is_rejected_with_one_line_per_problem(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(BAD_CONFIG)
    result = check_config(path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    expected = [
        "gateway.listen.port: Input should be less than or equal to 65535",
        "backends.0.api_key_ref: must be a reference 'env:NAME' or 'file:PATH', never the key",
        "backends.0.weight: Input should be greater than 0",
        "backends.1: provider 'vllm' needs an endpoint",
        "routing.strategy: Input should be",
        "routing.surprise: unknown field",
    ]
    for fragment in expected:
        assert any(fragment in line and line.startswith(str(path)) for line in lines), fragment
    assert "sk-live-123" not in result.stderr


def test_a_good_config_passes(tmp_path: Path, simulator: Simulator) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump({"backends": [backend(simulator, "a", "gpt-4o-mini")]}))
    result = check_config(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{path}: ok"


def test_references_must_resolve(tmp_path: Path, simulator: Simulator) -> None:
    path = tmp_path / "gateway.yaml"
    config = {
        "backends": [backend(simulator, "a", "gpt-4o-mini")],
        "routing": {"fallbacks": {"gpt-4o-mini": ["claude-nowhere"]}},
    }
    path.write_text(yaml.safe_dump(config))
    result = check_config(path)
    assert result.returncode != 0
    assert "routing.fallbacks.gpt-4o-mini: no backend serves 'claude-nowhere'" in result.stderr


def test_hot_reload_adds_backends_and_rejects_a_bad_file(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway]
) -> None:
    config = {"backends": [backend(simulator, "a", "gpt-4o-mini")]}
    gw = make_gateway(config)
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    assert "gpt-4o" not in {m.id for m in client.models.list()}

    config["backends"].append(backend(simulator, "b", "gpt-4o"))
    gw.config_path.write_text(yaml.safe_dump(config))
    with gw.client() as http:
        reloaded = http.post("/admin/config/reload")
    assert reloaded.status_code == 200
    assert "gpt-4o" in reloaded.json()["models"]
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])

    gw.config_path.write_text("backends: []\n")
    with gw.client() as http:
        rejected = http.post("/admin/config/reload")
    assert rejected.status_code == 400
    assert "backends" in rejected.json()["error"]["message"]
    # The running config is untouched by the bad file.
    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])


def test_reload_needs_the_master_key(gateway: Gateway) -> None:
    with gateway.client(key="sk-not-master") as http:
        assert http.post("/admin/config/reload").status_code == 401
