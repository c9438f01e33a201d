"""CPU per request with tracing, metrics and the request log on, against all three off.

Three gateways in front of one simulator: `observability` all off; all on with every
request traced; all on with 1 request in 10 traced (`OTEL_TRACES_SAMPLER=
parentbased_traceidratio`, the usual production setting). "On" is OTLP tracing to a
loopback sink that accepts and drops the spans (so encoding and export really happen),
Prometheus metrics, and the JSON request log written to the gateway's log file. Each is
warmed up, then driven in alternating rounds; the figure is the gateway process's own CPU
time (user + system, from /proc) per request answered, so other load on the machine does
not count. The bar: at most 0.3 ms more CPU per request than all off.

    .venv/bin/python -m bench.telemetry_overhead [--requests 3000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from bench import configs, loadgen
from bench.processes import Server, cpu_count, free_port, start, wait_ready
from bench.servers import GATEWAY_KEY, start_simulator

BAR_MS = 0.3
_OFF = {"tracing": False, "metrics": False, "request_log": False, "log_level": "info"}


class SpanSink:
    """An OTLP/HTTP endpoint that answers 200 and forgets: the collector's cost is not ours."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length") or 0))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._server.shutdown()


def _gateway(
    work: Path,
    name: str,
    simulator: loadgen.Target,
    observability: dict[str, Any],
    env: dict[str, str],
) -> tuple[Server, loadgen.Target]:
    directory = work / name
    directory.mkdir()
    port = free_port()
    base = simulator.url.removesuffix("/chat/completions")
    config = {
        "gateway": {"listen": {"host": "127.0.0.1", "port": port}},
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}"},
        "spend": {"spool_dir": str(directory / "spool")},
        "backends": [
            {"name": "sim-a", "provider": "simulator", "endpoint": base, "model": configs.MODEL}
        ],
        "observability": observability,
    }
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path)]
    child_env: dict[str, str | None] = {
        "GATEWAY_MASTER_KEY": GATEWAY_KEY,
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "OTEL_TRACES_EXPORTER": None,
        "PROMETHEUS_MULTIPROC_DIR": None,
        **env,
    }
    cores = {0}
    server = start(name, argv, cores=cores, log_dir=directory, env=child_env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{url}/ready", timeout_s=120)
    return server, loadgen.Target(name, f"{url}/v1/chat/completions", GATEWAY_KEY)


def _cpu_ms_per_request(server: Server, target: loadgen.Target, requests: int) -> float:
    before = server.cpu_seconds()
    sample = asyncio.run(
        loadgen.drive(target, stream=False, concurrency=8, duration_s=600, max_requests=requests)
    )
    if sample.errors:
        raise RuntimeError(f"{target.name}: {sample.errors} errors, e.g. {sample.error_examples}")
    return (server.cpu_seconds() - before) * 1000 / sample.requests


def measure(requests: int, rounds: int) -> dict[str, Any]:
    sink = SpanSink()
    with tempfile.TemporaryDirectory(prefix="telemetry-bench-") as tmp:
        work = Path(tmp)
        client_cores = {1} if cpu_count() > 1 else {0}
        simulator, direct = start_simulator(work, client_cores)
        env_on = {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.url, "OTEL_BSP_SCHEDULE_DELAY": "200"}
        sampled = {
            **env_on,
            "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
            "OTEL_TRACES_SAMPLER_ARG": "0.1",
        }
        servers = {
            "off": _gateway(work, "off", direct, _OFF, {}),
            "on": _gateway(work, "on", direct, configs.TELEMETRY_ON, env_on),
            "on_sampled_10pct": _gateway(
                work, "on_sampled_10pct", direct, configs.TELEMETRY_ON, sampled
            ),
        }
        try:
            for server, target in servers.values():
                _cpu_ms_per_request(server, target, min(500, requests))  # warm-up
            figures: dict[str, list[float]] = {mode: [] for mode in servers}
            for _ in range(rounds):
                for mode, (server, target) in servers.items():
                    figures[mode].append(_cpu_ms_per_request(server, target, requests))
            log_lines = sum(
                1
                for line in servers["on"][0].log_path.read_text().splitlines()
                if '"logger":"llm_proxy.requests"' in line
            )
        finally:
            for server, _ in servers.values():
                server.stop()
            simulator.stop()
            sink.close()
    off = statistics.median(figures["off"])
    result: dict[str, Any] = {"requests_per_round": requests, "rounds": rounds, "bar_ms": BAR_MS}
    for mode, values in figures.items():
        median = statistics.median(values)
        result[mode] = {
            "cpu_ms_per_request": [round(v, 4) for v in values],
            "median_ms": round(median, 4),
            "added_ms": round(median - off, 4),
            "within_bar": median - off <= BAR_MS,
        }
    result["request_log_lines_written"] = log_lines
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(measure(args.requests, args.rounds), indent=2))


if __name__ == "__main__":
    main()
