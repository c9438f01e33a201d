"""The gateway as processes: one, or `--workers N` on one port.

With N > 1 the parent checks once what every worker would refuse, applies the database
migrations once, binds the socket, and hands it to uvicorn's process manager
(`uvicorn.supervisors.Multiprocess`: it restarts a worker that dies, and on SIGHUP replaces
the workers one by one, each re-reading the config file). Each worker builds its own
`Gateway` from the same config (`worker_app`). Invariants:

- State that must be shared (rate limits, budgets, the response cache) is never kept per
  process behind one port: N > 1 without `redis.url` is refused (`shared_state_problem`).
- Metrics are Prometheus' multi-process mode: every worker writes under
  PROMETHEUS_MULTIPROC_DIR (a fresh directory when unset), and any worker's `/metrics`
  answers the sum of all of them.
- No work is done N times over: migrations run in the parent; each worker's spend writer
  writes only its own requests' records (the spool is one file per process, adopted by one
  survivor); the health probes are shared out, each worker probing every N intervals from
  a random phase, so providers see one process's probe rate.
"""

from __future__ import annotations

import gc
import os
import shutil
import ssl
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from llm_proxy.config import GatewayConfig, load_config
from llm_proxy.config.secrets import resolve_secret
from llm_proxy.store.database import upgrade_blocking
from llm_proxy.upstream.registry import Registry

WORKER_APP = "llm_proxy.processes:worker_app"
_CONFIG = "LLM_PROXY_WORKER_CONFIG"
_CONFIG_PATH = "LLM_PROXY_WORKER_CONFIG_PATH"
_MASTER_KEY = "LLM_PROXY_WORKER_MASTER_KEY"
_WORKERS = "LLM_PROXY_WORKERS"
_METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def shared_state_problem(config: GatewayConfig, workers: int) -> str | None:
    """Why N workers cannot serve this config, in one line; None when they can."""
    if workers < 1:
        return f"--workers {workers}: needs at least 1"
    if workers == 1 or config.redis.url:
        return None
    shared = [
        name
        for name, on in (
            ("limits and budgets", config.limits.enabled),
            ("the cache", config.cache.enabled),
            # optimizer/delegation.py: a sub-call may reach another worker than its parent.
            ("the optimizer's delegated credentials", config.optimizer.url is not None),
        )
        if on
    ]
    if not shared:
        return None
    return (
        f"--workers {workers} needs redis.url: {' and '.join(shared)} would be counted per "
        "process (set redis.url, or run one worker)"
    )


def tune_gc() -> None:
    """Keep full collections off the request path.

    Everything alive after start-up (modules, config, LiteLLM's tables) is long-lived:
    freezing it spares each full collection from walking it again (measured: 50-120 ms
    pauses, a few per second under load, before; 5-7 ms after). A higher first threshold
    makes the young collections that requests trigger rarer.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def check_worker_start(config: GatewayConfig) -> None:
    """Raise, once in the parent, what each worker would raise at start (RegistryError,
    SecretError), rather than N tracebacks."""
    Registry(config)
    if config.gateway.edge_secret_ref:
        resolve_secret(config.gateway.edge_secret_ref)


def serve_workers(
    server: uvicorn.Config,
    config: GatewayConfig,
    config_path: Path | None,
    master_key: str,
    on_ready: Callable[[int], None] | None = None,
) -> None:
    """Run `server.workers` worker processes of `config` on one socket until stopped.

    `server` names `WORKER_APP` as its (factory) app; `on_ready` gets the port once a
    worker answers.
    """
    if config.database.migrate_on_start:
        upgrade_blocking(config.database.url)
    own_metrics_dir = _metrics_directory()
    # Spawned workers inherit the environment: that is how they get their config.
    os.environ[_CONFIG] = _without_migrations(config).model_dump_json()
    os.environ[_MASTER_KEY] = master_key
    os.environ[_WORKERS] = str(server.workers)
    if config_path is not None:
        os.environ[_CONFIG_PATH] = str(config_path.resolve())
    socket = server.bind_socket()
    if on_ready is not None:
        port = socket.getsockname()[1]
        threading.Thread(target=_when_ready, args=(server, port, on_ready), daemon=True).start()
    try:
        Multiprocess(server, sockets=[socket]).run()
    finally:
        socket.close()
        if own_metrics_dir is not None:
            shutil.rmtree(own_metrics_dir, ignore_errors=True)


def worker_app() -> FastAPI:
    """One worker's app (uvicorn calls this in each worker process)."""
    from llm_proxy.app import build_app
    from llm_proxy.gateway import Gateway

    path = os.environ.get(_CONFIG_PATH)
    # A worker started by a SIGHUP re-reads the file; a bad file fails that worker's start,
    # and uvicorn keeps the worker it would have replaced.
    config = GatewayConfig.model_validate_json(os.environ[_CONFIG])
    if path is not None:
        config = _without_migrations(load_config(path))
    master_key = os.environ[_MASTER_KEY]
    gateway = Gateway(
        config, master_key, Path(path) if path else None, workers=int(os.environ[_WORKERS])
    )
    app = build_app(gateway)
    tune_gc()
    return app


def _without_migrations(config: GatewayConfig) -> GatewayConfig:
    database = config.database.model_copy(update={"migrate_on_start": False})
    return config.model_copy(update={"database": database})


def _metrics_directory() -> Path | None:
    """Point PROMETHEUS_MULTIPROC_DIR at an empty directory; returns it when it is ours."""
    given = os.environ.get(_METRICS_DIR)
    if given:
        # Values of an earlier run would be summed with this one's.
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        return None
    directory = Path(tempfile.mkdtemp(prefix="llm-proxy-metrics-"))
    os.environ[_METRICS_DIR] = str(directory)
    return directory


def _when_ready(server: uvicorn.Config, port: int, on_ready: Callable[[int], None]) -> None:
    scheme = "https" if server.ssl_certfile else "http"
    url = f"{scheme}://127.0.0.1:{port}/ready"
    # Our own socket on loopback: the certificate names the public host, not 127.0.0.1.
    context = ssl._create_unverified_context() if server.ssl_certfile else None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1, context=context):
                on_ready(port)
                return
        except ssl.SSLError:
            # mTLS required: the worker refuses a client without a certificate, so it is up.
            on_ready(port)
            return
        except OSError:
            time.sleep(0.1)
