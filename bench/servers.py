"""How each of the servers is launched, on which core, and when it counts as ready."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench import backing, configs
from bench.loadgen import Target
from bench.processes import Server, free_port, start, wait_ready

REPO = Path(__file__).resolve().parent.parent
LITELLM_VENV = REPO / "bench" / ".venv-litellm"
_LLM_PROXY = REPO / ".venv" / "bin" / "llm-proxy"
GATEWAY_KEY = "sk-gw-bench-master"
LITELLM_KEY = "sk-litellm-bench-master"

# Every process that imports litellm needs it (DESIGN.md): no price-list fetch at start-up.
_LITELLM_ENV = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def ensure_litellm() -> Path:
    """Create the baseline's venv on first use (about a minute), return its `litellm`."""
    script = REPO / "bench" / "setup_litellm.sh"
    result = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
        raise RuntimeError(f"{script} failed:\n{tail}")
    return LITELLM_VENV / "bin" / "litellm"


def start_simulator(
    work: Path, cores: set[int], config: Path | None = None
) -> tuple[Server, Target]:
    """The simulator with `config` (default: the profiles of `bench/configs.py`)."""
    config = config or configs.write_simulator(work)
    port = free_port()
    argv = [sys.executable, "-m", "llm_proxy.simulator", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--config", str(config)]
    server = start("simulator", argv, cores=cores, log_dir=work)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/health", timeout_s=30)
    return server, Target("direct", f"{base}/v1/chat/completions", "x")


def start_floor(work: Path, simulator: Target, cores: set[int]) -> tuple[Server, Target]:
    """The bare forwarder (bench/floor.py): what the transport alone costs."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.floor", "--port", str(port)]
    argv += ["--upstream", _base(simulator)]
    server = start("floor", argv, cores=cores, log_dir=work, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/health", timeout_s=30)
    return server, Target("floor", f"{base}/v1/chat/completions", "x")


def start_gateway(
    work: Path,
    simulator: Target,
    cores: set[int],
    *,
    cached: bool = False,
    sections: dict[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    under: Sequence[str] = (),
    ready_timeout_s: float = 60,
) -> tuple[Server, Target]:
    """Our gateway, embedded defaults; `cached`: with the exact response cache on;
    `sections` add to its configuration and `env` to its environment; `under`: the
    command it runs under (valgrind, for `bench.instructions`)."""
    port = free_port()
    name = "gateway-cache" if cached else "gateway"
    sections = {**(configs.CACHE_SECTIONS if cached else {}), **(sections or {})}
    config = configs.write_gateway(work, _base(simulator), port, name=name, sections=sections)
    server, base = _serve_gateway(name, config, port, work, cores, under, ready_timeout_s, env)
    target = "ours-cache" if cached else "ours"
    return server, Target(target, f"{base}/v1/chat/completions", GATEWAY_KEY)


def start_gateway_full(
    work: Path, simulator: Target, cores: set[int], state: backing.State
) -> tuple[Server, Target]:
    """Our gateway on Postgres and Redis with limits on, called with a virtual key."""
    port = free_port()
    sections = configs.full_sections(
        state.database_url, state.redis_url, state.redis_prefix, work / "gateway-full.spool"
    )
    config = configs.write_gateway(
        work, _base(simulator), port, name="gateway-full", sections=sections
    )
    # Schema first, as a deployment runs `llm-proxy db upgrade` before its replicas start.
    _migrate(config)
    server, base = _serve_gateway("gateway-full", config, port, work, cores)
    try:
        key = backing.issue_key(base, GATEWAY_KEY)
    except Exception:
        server.stop()
        raise
    return server, Target("ours-full", f"{base}/v1/chat/completions", key)


def _migrate(config: Path) -> None:
    argv = [str(_LLM_PROXY), "db", "upgrade", "--config", str(config)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"llm-proxy db upgrade failed:\n{result.stdout}{result.stderr}")


def _serve_gateway(
    name: str,
    config: Path,
    port: int,
    work: Path,
    cores: set[int],
    under: Sequence[str] = (),
    ready_timeout_s: float = 60,
    env: Mapping[str, str] | None = None,
) -> tuple[Server, str]:
    argv = [*under, str(_LLM_PROXY), "serve", "--config", str(config), "--port", str(port)]
    child_env: dict[str, str | None] = {
        **_LITELLM_ENV,
        "GATEWAY_MASTER_KEY": GATEWAY_KEY,
        **(env or {}),
    }
    server = start(name, argv, cores=cores, log_dir=work, env=child_env)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/ready", timeout_s=ready_timeout_s)
    return server, base


def start_litellm(
    work: Path, litellm: Path, simulator: Target, cores: set[int]
) -> tuple[Server, Target]:
    port = free_port()
    config = configs.write_litellm(work, _base(simulator), LITELLM_KEY)
    argv = [str(litellm), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--num_workers", "1"]
    env: dict[str, str | None] = {
        **_LITELLM_ENV,
        "LITELLM_LOG": "ERROR",
        # Keeps it from reading a stray .env or a DATABASE_URL meant for something else.
        "LITELLM_MODE": "PRODUCTION",
        "DATABASE_URL": None,
    }
    server = start("litellm", argv, cores=cores, log_dir=work, env=env, cwd=work)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/health/liveliness", timeout_s=120)
    return server, Target("litellm", f"{base}/v1/chat/completions", LITELLM_KEY)


def _base(simulator: Target) -> str:
    return simulator.url.removesuffix("/v1/chat/completions")
