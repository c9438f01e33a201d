"""`llm-proxy run` (what `make run` starts): the embedded default on a fresh directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import yaml

from tests.llm_proxy.conftest import backend
from tests.support.processes import Simulator, free_port


def test_run_fronts_the_simulator_and_prints_a_working_curl_line(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.pop("GATEWAY_MASTER_KEY", None)
    env["GATEWAY_PORT"] = str(port)
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_proxy", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = _read_until(process, "curl ")
        key = re.search(r"generated master key: (\S+)", printed)
        assert key is not None, printed
        assert "fronting the simulator" in printed
        assert f"http://127.0.0.1:{port}/v1" in printed
        assert httpx.get(f"http://127.0.0.1:{port}/ready").status_code == 200
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=key.group(1), max_retries=0
        )
        completion = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hello!"}]
        )
        assert "Hello!" in (completion.choices[0].message.content or "")
        simulator = re.search(r"fronting the simulator at http://127.0.0.1:(\d+)", printed)
        assert simulator is not None
    finally:
        process.terminate()
        process.wait(timeout=15)
    # The simulator it started goes with it.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _answers(int(simulator.group(1))):
        time.sleep(0.1)
    assert not _answers(int(simulator.group(1)))


def test_run_serves_where_gateway_yaml_says_with_its_master_key(
    tmp_path: Path, simulator: Simulator
) -> None:
    port = free_port()
    (tmp_path / "master.key").write_text("sk-from-the-file\n")
    config = {
        "gateway": {
            "listen": {"host": "127.0.0.1", "port": port},
            "master_key_ref": f"file:{tmp_path / 'master.key'}",
        },
        "backends": [backend(simulator, "mini", "gpt-4o-mini")],
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/gateway.db"},
        "spend": {"spool_dir": str(tmp_path / "spool")},
    }
    (tmp_path / "gateway.yaml").write_text(yaml.safe_dump(config))
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWAY_PORT", "GATEWAY_MASTER_KEY")}
    env.pop("GATEWAY_CONFIG", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_proxy", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = _read_until(process, "curl ")
        assert "using gateway.yaml" in printed
        assert "generated master key" not in printed
        assert f"http://127.0.0.1:{port}/v1" in printed
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-from-the-file", max_retries=0
        )
        assert [m.id for m in client.models.list()] == ["gpt-4o-mini"]
    finally:
        process.terminate()
        process.wait(timeout=15)


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float = 120) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("".join(seen))


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
