"""Runs router-service as a real subprocess on a free loopback port, offline."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

CONFIG = Path(__file__).with_name("router-service.test.yaml")
START_TIMEOUT_S = float(os.environ.get("TEST_READY_TIMEOUT_S", "90"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_service(
    extra_env: dict[str, str] | None = None, config: Path = CONFIG
) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", **(extra_env or {})}
    env.pop("OPENAI_API_KEY", None)
    command = [sys.executable, "-m", "router_service", "serve", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--config", str(config), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(process, url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def _wait_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"router-service exited ({process.returncode}):\n{stderr}")
        try:
            health = httpx.get(f"{url}/health", timeout=1.0)
            # Ready for the tests once RouteLLM's routers have loaded (or failed) too.
            if health.status_code == 200 and not health.json()["loading_routers"]:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"router-service did not become healthy in {START_TIMEOUT_S} s")
