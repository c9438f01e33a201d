"""`llm-proxy`: run the gateway (embedded default or a config file), check a config."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import ssl
import sys
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

from llm_proxy.app import build_app
from llm_proxy.config import ConfigError, GatewayConfig, load_config
from llm_proxy.config.models import TLS
from llm_proxy.config.models import Database as DatabaseSettings
from llm_proxy.config.secrets import SecretError, resolve_secret
from llm_proxy.connections import ServerConfig
from llm_proxy.embedded import (
    embedded_config,
    provider_backends,
    simulated_backends,
    start_simulator,
)
from llm_proxy.gateway import Gateway
from llm_proxy.kong import command as kong_command
from llm_proxy.limits import command as limits_command
from llm_proxy.processes import (
    WORKER_APP,
    check_worker_start,
    serve_workers,
    shared_state_problem,
    tune_gc,
)
from llm_proxy.store import backup_command
from llm_proxy.store.database import upgrade_blocking
from llm_proxy.upstream.registry import RegistryError


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    parser = argparse.ArgumentParser(prog="llm-proxy", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="the embedded default: no Kong, in-process state")
    serve = commands.add_parser("serve", help="serve with a config file")
    serve.add_argument("--config", required=True, type=Path)
    for command in (run, serve):
        command.add_argument("--host", default=None)
        command.add_argument("--port", type=int, default=None)
        command.add_argument(
            "--workers",
            type=int,
            default=int(os.environ.get("GATEWAY_WORKERS") or 1),
            help="worker processes on the one port (default: GATEWAY_WORKERS or 1)",
        )
    check = commands.add_parser("check-config", help="validate a config file and exit")
    check.add_argument("config", type=Path)
    kong_command.add_subcommands(commands)
    limits_command.add_subcommands(commands)
    backup_command.add_subcommands(commands)
    commands.add_parser("openapi", help="print the OpenAPI document (the dashboard's API types)")
    database = commands.add_parser("db", help="`db upgrade`: apply pending database migrations")
    database.add_argument("action", choices=["upgrade"])
    database.add_argument("--config", type=Path, help="gateway.yaml (default: embedded SQLite)")
    args = parser.parse_args(argv)
    if args.command == "kong":
        kong_command.run(args)
    elif args.command == "limits":
        limits_command.run(args)
    elif args.command == "backup":
        backup_command.run(args)
    elif args.command == "db":
        url = _load_or_exit(args.config).database.url if args.config else DatabaseSettings().url
        upgrade_blocking(url)
        print("database schema is up to date")
    elif args.command == "openapi":
        print(json.dumps(_openapi_document(), indent=1, sort_keys=True))
    elif args.command == "check-config":
        _load_or_exit(args.config)
        print(f"{args.config}: ok")
    elif args.command == "serve":
        config = _load_or_exit(args.config)
        master_key = _master_key_or_exit(config)
        _serve(
            config, master_key, args.config, args.host, args.port, announce=None,
            workers=args.workers,
        )  # fmt: skip
    else:
        _run_embedded(args.host, args.port, args.workers)


def _openapi_document() -> dict[str, object]:
    """The document a running gateway serves at /openapi.json; no route depends on config."""
    config = embedded_config("127.0.0.1", 0, simulated_backends("http://127.0.0.1:9/v1"))
    document: dict[str, object] = build_app(Gateway(config, "unused", None)).openapi()
    return document


def _load_or_exit(path: Path) -> GatewayConfig:
    try:
        return load_config(path)
    except ConfigError as exc:
        sys.exit(str(exc))


def _master_key_or_exit(config: GatewayConfig) -> str:
    try:
        return resolve_secret(config.gateway.master_key_ref)
    except SecretError as exc:
        sys.exit(f"gateway.master_key_ref: {exc}")


def _run_embedded(host: str | None, port: int | None, workers: int) -> None:
    """`gateway.yaml` in the working directory (or GATEWAY_CONFIG) if there is one, else the
    embedded default. Its `listen` and `master_key_ref` hold unless the command line, or an
    environment variable that is set (GATEWAY_PORT, GATEWAY_MASTER_KEY), says otherwise."""
    port = port or _env_port()
    config_file = Path(os.environ.get("GATEWAY_CONFIG", "gateway.yaml"))
    if config_file.exists():
        print(f"using {config_file}")
        config = _load_or_exit(config_file)
        master_key, shown = _master_key_for_run(config)
        _serve(config, master_key, config_file, host, port, announce=shown, workers=workers)
        return
    host = host or "127.0.0.1"
    port = port or 4000
    master_key, shown = _master_key_for_run(None)
    backends = provider_backends()
    simulator = None
    if backends:
        print("providers from the environment: " + ", ".join(b["name"] for b in backends))
    else:
        simulator, base_url = start_simulator()
        backends = simulated_backends(base_url)
        print(f"no OPENAI_API_KEY or ANTHROPIC_API_KEY set: fronting the simulator at {base_url}")
    try:
        config = embedded_config(host, port, backends, os.environ.get("GATEWAY_UI_DIR") or None)
        _serve(config, master_key, None, host, port, announce=shown, workers=workers)
    finally:
        if simulator is not None:
            simulator.terminate()


def _env_port() -> int | None:
    value = os.environ.get("GATEWAY_PORT")
    if not value:
        return None
    if not value.isdigit() or int(value) > 65535:
        sys.exit(f"GATEWAY_PORT: expected a port number, got {value!r}")
    return int(value)


def _master_key_for_run(config: GatewayConfig | None) -> tuple[str, str]:
    """The master key, and how the ready message shows it: GATEWAY_MASTER_KEY when set;
    else the file's `master_key_ref` when it names one; else a fresh key. A key the
    operator chose is never printed (terminals and CI logs keep what they show); only one
    generated here, which nobody could know otherwise."""
    from_env = os.environ.get("GATEWAY_MASTER_KEY")
    if from_env:
        return from_env, "$GATEWAY_MASTER_KEY"
    if config is not None and "master_key_ref" in config.gateway.model_fields_set:
        return _master_key_or_exit(config), "<master key>"
    master_key = "sk-gw-master-" + secrets.token_urlsafe(24)
    print(f"GATEWAY_MASTER_KEY was not set; generated master key: {master_key}")
    return master_key, master_key


def _serve(
    config: GatewayConfig,
    master_key: str,
    config_path: Path | None,
    host: str | None,
    port: int | None,
    *,
    announce: str | None,
    workers: int = 1,
) -> None:
    """Serve until stopped; `announce`: print the base URL and a curl line with that key."""
    problem = shared_state_problem(config, workers)
    if problem:
        sys.exit(problem)
    try:
        if workers > 1:
            check_worker_start(config)
        else:
            gateway = Gateway(config, master_key, config_path)
    except RegistryError as exc:
        sys.exit("\n".join(f"{config_path or 'config'}: {p}" for p in exc.problems))
    except SecretError as exc:
        sys.exit(str(exc))
    listen = config.gateway.listen
    tls = config.gateway.tls
    server = uvicorn.Server(
        ServerConfig(
            WORKER_APP if workers > 1 else build_app(gateway),
            header_timeout_s=config.gateway.header_timeout_s,
            timeout_keep_alive=config.gateway.keep_alive_s,
            factory=workers > 1,
            workers=workers,
            host=host or listen.host,
            port=listen.port if port is None else port,
            loop="uvloop",
            log_level=config.observability.log_level,
            access_log=False,
            ssl_certfile=tls.cert_file if tls else None,
            ssl_keyfile=tls.key_file if tls else None,
            **_client_certificates(tls),
            timeout_graceful_shutdown=int(config.gateway.drain_timeout_s),
            # A worker answers the supervisor's pings once its imports are done: on a busy
            # machine that takes longer than uvicorn's 5 s, which would kill it as hung
            # (measured: 45 s at a load average of 20 on 2 cores). The supervisor also
            # waits this long on a hung worker before it acts on a signal.
            timeout_worker_healthcheck=120,
        )
    )
    ui = config.gateway.ui_dir is not None
    if workers > 1:
        shown = announce
        on_ready = (lambda bound: _announce(server.config, bound, shown, ui)) if shown else None
        serve_workers(server.config, config, config_path, master_key, on_ready)
        return
    # uvicorn's loop="uvloop" applies only when uvicorn runs the loop itself.
    uvloop.run(_serve_until_stopped(server, announce, ui))


def _client_certificates(tls: TLS | None) -> dict[str, Any]:
    """mTLS: the handshake checks a client certificate against the CA (required or not)."""
    if tls is None or tls.client_ca_file is None:
        return {}
    required = tls.client_auth == "required"
    return {
        "ssl_ca_certs": tls.client_ca_file,
        "ssl_cert_reqs": ssl.CERT_REQUIRED if required else ssl.CERT_OPTIONAL,
    }


async def _serve_until_stopped(server: uvicorn.Server, announce: str | None, ui: bool) -> None:
    serving = asyncio.ensure_future(server.serve())
    # uvicorn offers no start-up event; poll its flag until it listens or gives up.
    while not server.started and not serving.done():  # noqa: ASYNC110
        await asyncio.sleep(0.05)
    if server.started:
        tune_gc()
    if announce is not None and server.started:
        _announce(server.config, server.config.port, announce, ui)
    await serving


def _announce(config: uvicorn.Config, port: int, shown_key: str, ui: bool) -> None:
    scheme = "https" if config.ssl_certfile else "http"
    base = f"{scheme}://{config.host}:{port}"
    print(f"\nllm gateway ready at {base}/v1  (OpenAI and Anthropic SDKs: set base URL to it)")
    if ui:
        print(f"dashboard at {base}/ui/  (log in with the master key)")
    print(
        f'try:\n  curl {base}/v1/chat/completions -H "Authorization: Bearer {shown_key}" '
        "-H 'Content-Type: application/json' "
        '-d \'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Hello!"}]}\'\n',
        flush=True,
    )
