"""Real processes on loopback for the tests: the simulator and the gateway."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import yaml

_SIM_READY = re.compile(r"^simulator listening on (http://127\.0\.0\.1:\d+)$")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Simulator:
    process: subprocess.Popen[str]
    url: str

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=10)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def start_simulator(config: dict[str, Any], directory: Path) -> Simulator:
    path = directory / f"sim-{free_port()}.yaml"
    path.write_text(yaml.safe_dump(config))
    command = [sys.executable, "-m", "llm_proxy.simulator", "--port", "0", "--config", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    match = _SIM_READY.match(line)
    if match is None:
        process.kill()
        raise RuntimeError(f"simulator did not start: {line!r}")
    return Simulator(process, match.group(1))


class Output:
    """What a process prints, read by a thread as it comes: a pipe nobody reads fills up
    (64 KiB, about a hundred request-log lines) and then blocks the process's writes."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line.rstrip("\n"))

    def text(self, wait_s: float = 5.0) -> str:
        """Everything printed; after the process has ended, all of it."""
        self._thread.join(wait_s)
        return "\n".join(self.lines)


@dataclass
class Gateway:
    process: subprocess.Popen[str]
    url: str
    master_key: str
    config_path: Path
    output: Output | None = field(default=None)

    @property
    def v1(self) -> str:
        return f"{self.url}/v1"

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"authorization": f"Bearer {key or self.master_key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def stop(self) -> str:
        """Stop the gateway; returns what it printed, for assertions on its logs."""
        self.process.terminate()
        if self.output is not None:
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            return self.output.text()
        try:
            out, _ = self.process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, _ = self.process.communicate()
        return out


def start_gateway(
    config: dict[str, Any],
    directory: Path,
    master_key: str = "sk-test-master",
    port: int | None = None,
    ready_timeout_s: float = 180,
    tls_client: dict[str, Any] | None = None,
) -> Gateway:
    """With `gateway.tls` in the config, the gateway serves HTTPS: `tls_client` holds the
    httpx options (`verify`, `cert`) its readiness is checked with."""
    port = port or free_port()
    path = directory / f"gateway-{port}.yaml"
    # Each gateway its own SQLite file unless the test names a database: no test sees
    # another's keys or request log.
    config = {"database": {"url": f"sqlite+aiosqlite:///{directory}/gateway-{port}.db"}, **config}
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "GATEWAY_MASTER_KEY": master_key, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    output = Output(process.stdout)
    scheme = "https" if config.get("gateway", {}).get("tls") else "http"
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        wait_ready(process, f"{url}/ready", ready_timeout_s, **(tls_client or {}))
    except RuntimeError as exc:
        raise RuntimeError(f"{exc}\n{output.text(1.0)}") from None
    return Gateway(process, url, master_key, path, output)


def wait_ready(
    process: subprocess.Popen[str], url: str, timeout_s: float = 180, **client: Any
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"exited with {process.returncode}: {output}")
        try:
            if httpx.get(url, timeout=1, **client).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{url} not ready in {timeout_s}s")


@dataclass
class Optimizer:
    process: subprocess.Popen[str]
    url: str

    def wait_ready(self, timeout_s: float = 300) -> None:
        wait_ready(self.process, f"{self.url}/health", timeout_s=timeout_s)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()


def spawn_optimizer(port: int, gateway_v1: str, log: Path, *extra: str) -> Optimizer:
    """The optimizer service on `port`, its sub-calls going to the gateway at `gateway_v1`;
    `wait_ready` before using it: OptiLLM's imports (its Flask server, sympy, z3) take
    seconds, a minute or more on a busy machine, so it starts while the rest does."""
    command = [sys.executable, "-m", "optimizer", "serve", "--port", str(port)]
    command += ["--gateway-url", gateway_v1, "--log-level", "warning", *extra]
    with log.open("w") as output:  # a file, not a pipe: nobody reads it while it runs
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, text=True)
    return Optimizer(process, f"http://127.0.0.1:{port}")
