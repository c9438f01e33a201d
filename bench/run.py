"""The benchmark: `.venv/bin/python -m bench.run [--duration S] [--concurrency 1,16,64] [--quick]`.

One run starts the simulator, then each proxy in turn (the bare forwarder `floor`; our
gateway; our gateway with auth, limits and the spend log on Postgres and Redis, on a
database of the run's own; our gateway answering from its exact cache; stock LiteLLM
proxy), drives it and the simulator itself ("direct") with plain and streaming chat at each
concurrency, then restarts our gateway for the memory cell (RSS over 50,000 requests).
Results go to bench/results/<timestamp>.json and .md; the table is printed too.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import uvloop

from bench import backing, configs, report, servers
from bench.loadgen import Sample, Target, drive
from bench.processes import Server, cpu_count, machine_busy_seconds, pin_self
from bench.stats import MIB, Cell, Usage, summarize

_T = TypeVar("_T")

RESULTS = servers.REPO / "bench" / "results"
MODES = ("chat", "stream")
# floor: a bare forwarder on the same stack (bench/floor.py), the least a proxy can cost.
# ours-full: our gateway with auth (a virtual key), limits and the spend log on Postgres + Redis.
# ours-cache: our gateway with the exact cache on; the same request each time, so all hits.
TARGETS = ("direct", "floor", "ours", "ours-full", "ours-cache", "litellm")


@dataclass(frozen=True)
class Settings:
    duration_s: float  # measured part of a cell
    warmup_s: float  # unmeasured traffic at the cell's concurrency just before it
    concurrency: tuple[int, ...]
    max_requests: int  # per cell, a bound next to the duration
    memory_requests: int  # the long cell on our gateway
    memory_concurrency: int
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Cores:
    """Which cores the server under test and the client side (load generator, simulator) get."""

    server: set[int]
    client: set[int]

    def describe(self) -> str:
        if self.server == self.client:
            return f"no pinning (cores {sorted(self.server)} shared)"
        return (
            f"server under test on core(s) {sorted(self.server)}; "
            f"simulator and load generator on core(s) {sorted(self.client)}"
        )


def main(argv: list[str] | None = None) -> None:
    args = _arguments(argv)
    settings = _settings(args)
    cores = _cores()
    pin_self(cores.client)
    if args.nice is not None:
        # Inherited by every server started below: on a shared machine it keeps other
        # people's work from preempting the cells (negative values need root).
        os.setpriority(os.PRIO_PROCESS, 0, args.nice)
    started = time.time()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    work = RESULTS / f"{stamp}-logs"
    work.mkdir(parents=True, exist_ok=True)
    results = run(settings, cores, work)
    results["meta"] = _meta(settings, cores, started, argv)
    json_path, md_path = report.write(results, RESULTS / stamp)
    print(md_path.read_text(encoding="utf-8"))
    print(f"results: {json_path}\n         {md_path}\nserver logs: {work}")


def run(settings: Settings, cores: Cores, work: Path) -> dict[str, object]:
    """Every cell of every target, then the memory cell; servers are stopped and the run's
    database and Redis keys removed whatever happens."""
    litellm = servers.ensure_litellm() if "litellm" in settings.targets else None
    cells: list[Cell] = []
    memory: dict[str, object] | None = None
    with ExitStack() as stack:
        full = "ours-full" in settings.targets
        state = stack.enter_context(backing.provisioned()) if full else None
        simulator, direct = servers.start_simulator(work, cores.client)
        stack.callback(simulator.stop)
        starters: dict[str, Callable[[], tuple[Server, Target]]] = {
            "direct": lambda: (simulator, direct),
            "floor": lambda: servers.start_floor(work, direct, cores.server),
            "ours": lambda: servers.start_gateway(work, direct, cores.server),
            "ours-cache": lambda: servers.start_gateway(work, direct, cores.server, cached=True),
            "ours-full": lambda: servers.start_gateway_full(
                work, direct, cores.server, _need(state)
            ),
            "litellm": lambda: servers.start_litellm(work, _need(litellm), direct, cores.server),
        }
        for name in settings.targets:
            _log(f"{name}: starting")
            with _serving(starters[name], keep=name == "direct") as (server, target):
                cells += _measure_target(server, target, simulator, settings)
        if "ours" in settings.targets and settings.memory_requests:
            with _serving(starters["ours"], keep=False) as (server, target):
                memory = _memory_cell(server, target, settings)
    return {"meta": {}, "cells": cells, "memory": memory}


def _measure_target(
    server: Server, target: Target, simulator: Server, settings: Settings
) -> list[Cell]:
    # First requests pay for imports, JIT-like caches and connection set-up: not measured.
    for mode in MODES:
        _drive(target, mode, 8, min(10.0, 4 * settings.warmup_s), 400)
    cells = []
    for mode in MODES:
        for concurrency in settings.concurrency:
            cell = _measure_cell(server, target, simulator, mode, concurrency, settings)
            _log(
                f"{target.name} {mode} c={concurrency}: {cell.rps:.0f} req/s, "
                f"p50 {_ms(cell.latency_p50_ms)} p99 {_ms(cell.latency_p99_ms)}, "
                f"{cell.errors} errors"
            )
            cells.append(cell)
    return cells


def _measure_cell(
    server: Server,
    target: Target,
    simulator: Server,
    mode: str,
    concurrency: int,
    settings: Settings,
) -> Cell:
    _drive(target, mode, concurrency, settings.warmup_s, settings.max_requests)
    server_cpu, simulator_cpu = server.cpu_seconds(), simulator.cpu_seconds()
    busy = machine_busy_seconds()
    sample = _drive(target, mode, concurrency, settings.duration_s, settings.max_requests)
    busy = machine_busy_seconds() - busy
    server_cpu = server.cpu_seconds() - server_cpu
    simulator_cpu = simulator.cpu_seconds() - simulator_cpu
    ours = sample.client_cpu_s + simulator_cpu + (0 if server is simulator else server_cpu)
    usage = Usage(
        server_cpu_s=server_cpu,
        simulator_cpu_s=simulator_cpu,
        foreign_cpu_s=max(0.0, busy - ours),
        server_rss_bytes=server.rss_bytes(),
    )
    return summarize(target.name, mode, concurrency, sample, usage)


def _memory_cell(server: Server, target: Target, settings: Settings) -> dict[str, object]:
    """RSS of a fresh gateway as it serves `memory_requests`, half plain, half streamed."""
    steps = 10
    per_step = max(1, settings.memory_requests // steps)
    points = [{"requests": 0, "rss_mib": server.rss_bytes() / MIB}]
    served = errors = 0
    started = time.perf_counter()
    for step in range(steps):
        mode = MODES[step % 2]
        sample = _drive(target, mode, settings.memory_concurrency, 3600.0, per_step)
        served += sample.requests + sample.errors
        errors += sample.errors
        points.append({"requests": served, "rss_mib": server.rss_bytes() / MIB})
        _log(f"memory: {served} requests, RSS {points[-1]['rss_mib']:.1f} MiB")
    return {
        "target": target.name,
        "concurrency": settings.memory_concurrency,
        "requests": served,
        "errors": errors,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "rss_start_mib": points[0]["rss_mib"],
        "rss_end_mib": points[-1]["rss_mib"],
        "points": points,
    }


@contextmanager
def _serving(
    starter: Callable[[], tuple[Server, Target]], *, keep: bool
) -> Iterator[tuple[Server, Target]]:
    """A started server for the duration of the block; stopped after unless `keep`."""
    server, target = starter()
    try:
        yield server, target
    finally:
        if not keep:
            server.stop()


def _drive(target: Target, mode: str, concurrency: int, duration_s: float, limit: int) -> Sample:
    # A fresh event loop (uvloop, as the servers use) per cell: no state carried across.
    return uvloop.run(
        drive(
            target,
            stream=mode == "stream",
            concurrency=concurrency,
            duration_s=duration_s,
            max_requests=limit,
        )
    )


def _cores() -> Cores:
    available = sorted(os.sched_getaffinity(0))
    if cpu_count() < 2:
        return Cores(set(available), set(available))
    # The server under test gets a core of its own; everything else shares the rest.
    return Cores({available[0]}, set(available[1:]))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--duration", type=float, help="measured seconds per cell (default 10)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per cell (default 2)")
    parser.add_argument(
        "--concurrency", default="1,16,64", help="comma-separated list (default 1,16,64)"
    )
    parser.add_argument("--targets", default=",".join(TARGETS), help="subset of the default")
    parser.add_argument("--memory-requests", type=int, help="long cell size (default 50000)")
    parser.add_argument("--quick", action="store_true", help="short cells, ~2.5 minutes in all")
    parser.add_argument(
        "--nice", type=int, help="niceness of the benchmark and its servers (e.g. -10)"
    )
    return parser.parse_args(argv)


def _settings(args: argparse.Namespace) -> Settings:
    quick = bool(args.quick)
    targets = tuple(t for t in args.targets.split(",") if t)
    unknown = set(targets) - set(TARGETS)
    if unknown:
        sys.exit(f"unknown targets: {', '.join(sorted(unknown))}")
    if "direct" not in targets:
        targets = ("direct", *targets)  # overheads are relative to it
    return Settings(
        duration_s=args.duration or (3.0 if quick else 10.0),
        warmup_s=args.warmup or (1.0 if quick else 2.0),
        concurrency=tuple(int(c) for c in args.concurrency.split(",") if c),
        max_requests=1_000_000,
        memory_requests=(
            args.memory_requests
            if args.memory_requests is not None
            else (10_000 if quick else 50_000)
        ),
        memory_concurrency=64,
        targets=tuple(t for t in TARGETS if t in targets),
    )


def _meta(
    settings: Settings, cores: Cores, started: float, argv: list[str] | None
) -> dict[str, object]:
    return {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "wall_s": round(time.time() - started, 1),
        "command": " ".join(["python -m bench.run", *(sys.argv[1:] if argv is None else argv)]),
        "settings": asdict(settings),
        "pinning": cores.describe(),
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "litellm_version": _litellm_version(),
        "simulator_profile": configs.SIMULATOR_PROFILE,
    }


def _litellm_version() -> str | None:
    found = sorted(servers.LITELLM_VENV.glob("lib/python*/site-packages/litellm-*.dist-info"))
    return found[0].name.removeprefix("litellm-").removesuffix(".dist-info") if found else None


def _need(value: _T | None) -> _T:
    if value is None:
        raise RuntimeError("a target was started without what it needs set up")
    return value


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
