"""`llm-proxy serve --workers 2` against `--workers 1` on this machine, load generator included.

    .venv/bin/python -m bench.workers [--duration 15] [--concurrency 64] [--stream]

Both runs use the `ours-full` setup (virtual key, limits on in Redis, spend log on a
Postgres database of the run's own; both cleaned up after) and the bench simulator; the
load generator is one process on the same cores, as on a 2-core box where the gateway,
its load and its upstream share the CPUs. Every process may use every core: the point is
what a second worker adds when the machine has a second core. Reported per run:
requests/s, p50/p99 latency, the gateway's CPU per request, and the CPU that processes
outside the benchmark used meanwhile (a busy machine makes the figures noise).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from tempfile import TemporaryDirectory

from bench import backing, configs
from bench.loadgen import Sample, Target, drive
from bench.processes import Server, free_port, machine_busy_seconds, start, wait_ready
from bench.servers import GATEWAY_KEY, REPO, start_simulator
from bench.stats import percentile

_LLM_PROXY = REPO / ".venv" / "bin" / "llm-proxy"
RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class Run:
    workers: int
    requests: int
    errors: int
    rps: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    gateway_cpu_ms_per_request: float | None
    # CPU used by everything on the machine that is not this benchmark, as a share of one
    # core: above a few tens of percent the comparison says little.
    foreign_cpu_percent: float


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.workers", description=__doc__)
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--stream", action="store_true")
    arguments = parser.parse_args()
    cores = set(os.sched_getaffinity(0))
    runs = []
    with TemporaryDirectory(prefix="bench-workers-") as scratch:
        work = Path(scratch)
        simulator, upstream = start_simulator(work, cores)
        try:
            for workers in (1, 2):
                with backing.provisioned() as state:
                    runs.append(
                        _measure(workers, work, (simulator, upstream), cores, state, arguments)
                    )
        finally:
            simulator.stop()
    _report(runs, arguments)


def _measure(
    workers: int,
    work: Path,
    upstream: tuple[Server, Target],
    cores: set[int],
    state: backing.State,
    arguments: argparse.Namespace,
) -> Run:
    server, target = _start_gateway(workers, work, upstream[1], cores, state)
    try:
        asyncio.run(_drive(target, arguments, arguments.warmup))
        own = [server, upstream[0]]
        own_before = sum(s.cpu_seconds() for s in own) + time.process_time()
        gateway_before, busy_before = server.cpu_seconds(), machine_busy_seconds()
        sample = asyncio.run(_drive(target, arguments, arguments.duration))
        gateway_cpu = server.cpu_seconds() - gateway_before
        own_cpu = sum(s.cpu_seconds() for s in own) + time.process_time() - own_before
        foreign = max(0.0, machine_busy_seconds() - busy_before - own_cpu)
    finally:
        server.stop(timeout_s=30)
    elapsed = sample.elapsed_s or 1e-9
    return Run(
        workers=workers,
        requests=sample.requests,
        errors=sample.errors,
        rps=sample.requests / elapsed,
        latency_p50_ms=percentile(sample.latencies_ms, 50),
        latency_p99_ms=percentile(sample.latencies_ms, 99),
        gateway_cpu_ms_per_request=gateway_cpu * 1000 / sample.requests
        if sample.requests
        else None,
        foreign_cpu_percent=100 * foreign / elapsed,
    )


async def _drive(target: Target, arguments: argparse.Namespace, duration_s: float) -> Sample:
    return await drive(
        target,
        stream=arguments.stream,
        concurrency=arguments.concurrency,
        duration_s=duration_s,
        max_requests=10_000_000,
    )


def _start_gateway(
    workers: int, work: Path, upstream: Target, cores: set[int], state: backing.State
) -> tuple[Server, Target]:
    port = free_port()
    sections = configs.full_sections(
        state.database_url, state.redis_url, state.redis_prefix, work / f"spool-{workers}"
    )
    simulator_url = upstream.url.removesuffix("/v1/chat/completions")
    config = configs.write_gateway(
        work, simulator_url, port, name=f"gateway-{workers}w", sections=sections
    )
    upgrade = [str(_LLM_PROXY), "db", "upgrade", "--config", str(config)]
    migrate = start("migrate", upgrade, cores=cores, log_dir=work)
    if migrate.process.wait(timeout=300) != 0:
        raise RuntimeError(f"llm-proxy db upgrade failed:\n{migrate.log_tail()}")
    argv = [str(_LLM_PROXY), "serve", "--config", str(config), "--workers", str(workers)]
    env: dict[str, str | None] = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "GATEWAY_MASTER_KEY": GATEWAY_KEY,
        "PROMETHEUS_MULTIPROC_DIR": None,
    }
    server = start(f"gateway-{workers}w", argv, cores=cores, log_dir=work, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/ready", timeout_s=600)
    key = backing.issue_key(base, GATEWAY_KEY)
    return server, Target(f"{workers} worker(s)", f"{base}/v1/chat/completions", key)


def _report(runs: list[Run], arguments: argparse.Namespace) -> None:
    mode = "stream" if arguments.stream else "chat"
    lines = [
        f"`--workers` 1 vs 2, {mode}, concurrency {arguments.concurrency}, "
        f"{arguments.duration:.0f} s, {os.cpu_count()} CPUs (load generator on the same cores)",
        "",
        "| workers | requests | errors | req/s | p50 ms | p99 ms | gateway CPU ms/req "
        "| other processes' CPU |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for run in runs:
        lines.append(
            f"| {run.workers} | {run.requests} | {run.errors} | {run.rps:.0f} | "
            f"{_ms(run.latency_p50_ms)} | {_ms(run.latency_p99_ms)} | "
            f"{_ms(run.gateway_cpu_ms_per_request)} | {run.foreign_cpu_percent:.0f} % |"
        )
    if len(runs) == 2 and runs[0].rps:
        lines += ["", f"2 workers / 1 worker: {runs[1].rps / runs[0].rps:.2f}x requests/s"]
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (RESULTS / f"workers-{stamp}.md").write_text(text + "\n")
    (RESULTS / f"workers-{stamp}.json").write_text(
        json.dumps({"arguments": vars(arguments), "runs": [asdict(r) for r in runs]}, indent=2)
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
