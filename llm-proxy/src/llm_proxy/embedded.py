"""The embedded default for `make run`: a working gateway with no config file.

With provider keys in the environment it fronts those providers; with none it starts
the upstream simulator and fronts that, so the gateway can be tried fully offline.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

from llm_proxy.config import GatewayConfig

_PR_SET_PDEATHSIG = 1
_OPENAI_MODELS = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
_ANTHROPIC_MODELS = ("claude-3-5-haiku-latest", "claude-sonnet-4-5")
_SIMULATED_MODELS = ("gpt-4o-mini", "gpt-4o", "claude-sonnet-4-5", "text-embedding-3-small")


def provider_backends() -> list[dict[str, Any]]:
    backends: list[dict[str, Any]] = []
    if os.environ.get("OPENAI_API_KEY"):
        backends += [
            {
                "name": f"openai-{m}",
                "provider": "openai",
                "model": m,
                "api_key_ref": "env:OPENAI_API_KEY",
            }
            for m in _OPENAI_MODELS
        ]
    if os.environ.get("ANTHROPIC_API_KEY"):
        backends += [
            {
                "name": f"anthropic-{m}",
                "provider": "anthropic",
                "model": m,
                "api_key_ref": "env:ANTHROPIC_API_KEY",
            }
            for m in _ANTHROPIC_MODELS
        ]
    return backends


def simulated_backends(base_url: str) -> list[dict[str, Any]]:
    return [
        {"name": f"simulator-{m}", "provider": "simulator", "endpoint": base_url, "model": m}
        for m in _SIMULATED_MODELS
    ]


def embedded_config(
    host: str, port: int, backends: list[dict[str, Any]], ui_dir: str | None = None
) -> GatewayConfig:
    gateway = {"listen": {"host": host, "port": port}, "ui_dir": ui_dir}
    return GatewayConfig.model_validate({"gateway": gateway, "backends": backends})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _die_with_parent() -> None:
    """Linux: the simulator gets SIGTERM when the gateway dies, however it dies.

    uvicorn ends the process by re-raising SIGTERM after shutdown, so no `finally` of ours
    would run to stop the child.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_simulator(timeout_s: float = 20.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start the simulator as a child process and wait until it answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_proxy.simulator", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        preexec_fn=_die_with_parent,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the simulator exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=1):
                return process, f"{base}/v1"
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the simulator did not start in time")
