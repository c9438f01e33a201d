"""A bounded soak: one gateway worker under mixed open-loop traffic, sampled every minute.

    nice -n 10 .venv/bin/python -m bench.soak [--minutes 30] [--rate 20] [--warm-up 5]

One `llm-proxy serve` (one worker, the embedded default: SQLite, state in process, the
exact cache on) in front of one simulator, and router-service (its shipped checkpoint,
offline) for `model: "auto"`. Three open-loop streams of requests run side by side
(`bench.openloop`), half of each streamed: chat with a prompt of its own (misses; half of
`--rate`), one repeated prompt (cache hits after the first; a quarter) and `auto` with
prompts of its own (the router decides, then a miss; a quarter).

Every `--window` seconds (default 60) it records the gateway's RSS, its open fds, the
p99 of the window's requests (all, and per kind), errors and the load average. The bar
(issue 11): after the warm-up, RSS grows by at most 10 MiB, fds do not grow, p99 stays
stable. Every miss is stored in the exact cache, which by default keeps 100,000 entries
for an hour: over 30 minutes it fills, and RSS with it, by design. `--cache-entries 2000`
bounds it so that it is full within the warm-up (and evicts from then on): what grows
then is not the cache's. Results: `bench/results/soak-<time>.json` and `.md`; print
`uptime` beside them, this machine is shared. Loopback only; every process it starts is
stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench import openloop
from bench.processes import Server, cpu_count, free_port, start, wait_ready

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
_KEY = "sk-gw-bench-soak"
_WEAK, _STRONG = "gpt-4o-mini", "gpt-4o"
_SIMULATOR = {
    "name": "soak-sim",
    "record_limit": 100,
    "default": {"ttft_ms": 20, "tokens_per_second": 400, "output_tokens": 16},
}
# Only the first request of a window repeats (the cache's hit rate stays low for those).
_NEVER = 10**9
# RSS may grow this much after the warm-up (MiB); p99 may rise this much over its first
# window after the warm-up before it counts as unstable.
RSS_BAR_MIB = 10.0
P99_RATIO_BAR = 1.5


def _schedules(url: str, rate: float, seconds: float) -> dict[str, openloop.Schedule]:
    quarter = rate / 4
    return {
        "plain+stream": openloop.Schedule(
            url, _KEY, 2 * quarter, seconds, model=_WEAK, repeat_every=_NEVER
        ),
        "cached": openloop.Schedule(url, _KEY, quarter, seconds, model=_WEAK, repeat_every=1),
        "auto": openloop.Schedule(url, _KEY, quarter, seconds, model="auto", repeat_every=_NEVER),
    }


def _p99_ms(outcomes: list[openloop.Outcome]) -> float | None:
    if not outcomes:
        return None
    latencies = sorted(o.took_s for o in outcomes)
    return round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1)


async def _window(url: str, rate: float, seconds: float) -> dict[str, list[openloop.Outcome]]:
    schedules = _schedules(url, rate, seconds)
    runs = await asyncio.gather(*(openloop.run(s) for s in schedules.values()))
    return dict(zip(schedules, runs, strict=True))


def _point(
    started: float, gateway: Server, kinds: dict[str, list[openloop.Outcome]]
) -> dict[str, Any]:
    everything = [o for outcomes in kinds.values() for o in outcomes]
    return {
        "minute": round((time.monotonic() - started) / 60, 2),
        "requests": len(everything),
        "errors": sum(1 for o in everything if not o.answered),
        "p99_ms": _p99_ms(everything),
        "p99_ms_by_kind": {kind: _p99_ms(outcomes) for kind, outcomes in kinds.items()},
        "cache_hits": sum(1 for o in everything if o.headers.get("x-gateway-cache") == "hit"),
        "routed": sum(1 for o in everything if "router=" in o.headers.get("x-gateway-route", "")),
        "rss_mib": round(gateway.rss_bytes() / 2**20, 1),
        "fds": len(os.listdir(f"/proc/{gateway.pid}/fd")),
        "load": [round(x, 2) for x in os.getloadavg()],
    }


def _router_service(work: Path) -> tuple[Server, str]:
    port = free_port()
    argv = [sys.executable, "-m", "router_service", "serve", "--port", str(port)]
    argv += ["--log-level", "warning"]
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OPENAI_API_KEY": None}
    server = start("router-service", argv, cores=set(range(cpu_count())), log_dir=work, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"router-service exited:\n{server.log_tail()}")
        try:
            health = httpx.get(f"{url}/health", timeout=1.0)
            if health.status_code == 200 and not health.json()["loading_routers"]:
                return server, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"router-service not ready:\n{server.log_tail()}")


def _simulator(work: Path) -> tuple[Server, str]:
    path = work / "simulator.yaml"
    path.write_text(yaml.safe_dump(_SIMULATOR))
    port = free_port()
    argv = [sys.executable, "-m", "llm_proxy.simulator", "--port", str(port), "--config", str(path)]
    server = start("simulator", argv, cores=set(range(cpu_count())), log_dir=work)
    url = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{url}/health", timeout_s=60)
    return server, url


def _gateway(
    work: Path, simulator: str, router: str, cache_entries: int | None = None
) -> tuple[Server, str]:
    port = free_port()
    backends = [
        {"name": model, "provider": "simulator", "endpoint": f"{simulator}/v1", "model": model}
        for model in (_WEAK, _STRONG)
    ]
    config = {
        "database": {"url": f"sqlite+aiosqlite:///{work}/gateway.db"},
        "spend": {"spool_dir": str(work / "spool")},
        "backends": backends,
        "cache": {"enabled": True, **({"max_entries": cache_entries} if cache_entries else {})},
        "routing": {
            "router_service": {"url": router, "deadline_ms": 200},
            "auto_groups": {"auto": {"default": _WEAK, "strong": _STRONG}},
        },
        "observability": {"request_log": False},
    }
    path = work / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path), "--port", str(port)]
    argv += ["--workers", "1"]
    env = {"GATEWAY_MASTER_KEY": _KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    server = start("gateway", argv, cores=set(range(cpu_count())), log_dir=work, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{url}/ready", timeout_s=300)
    return server, url


def soak(
    minutes: float, rate: float, window_s: float, cache_entries: int | None = None
) -> list[dict[str, Any]]:
    curve: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        servers: list[Server] = []
        try:
            simulator, simulator_url = _simulator(work)
            servers.append(simulator)
            router, router_url = _router_service(work)
            servers.append(router)
            gateway, url = _gateway(work, simulator_url, router_url, cache_entries)
            servers.append(gateway)
            started = time.monotonic()
            while time.monotonic() - started < minutes * 60:
                kinds = asyncio.run(_window(url, rate, window_s))
                point = _point(started, gateway, kinds)
                print(json.dumps(point), flush=True)
                curve.append(point)
        finally:
            for server in reversed(servers):
                server.stop()
    return curve


def verdict(curve: list[dict[str, Any]], warm_up_min: float) -> dict[str, Any]:
    """The bar, judged on the windows after the warm-up."""
    after = [p for p in curve if p["minute"] > warm_up_min]
    if len(after) < 2:
        return {"judged": False, "why": "fewer than two windows after the warm-up"}
    first, last = after[0], after[-1]
    p99s = [p["p99_ms"] for p in after if p["p99_ms"] is not None]
    rss_growth = round(last["rss_mib"] - first["rss_mib"], 1)
    fd_growth = last["fds"] - first["fds"]
    p99_ratio = round(max(p99s[1:] or p99s) / p99s[0], 2)
    return {
        "judged": True,
        "from_minute": first["minute"],
        "rss_mib": [first["rss_mib"], last["rss_mib"]],
        "rss_growth_mib": rss_growth,
        "rss_max_mib": max(p["rss_mib"] for p in after),
        "fds": [first["fds"], last["fds"]],
        "fd_growth": fd_growth,
        "p99_ms_first_max_last": [p99s[0], max(p99s), p99s[-1]],
        "p99_worst_over_first": p99_ratio,
        "errors": sum(p["errors"] for p in after),
        "rss_ok": rss_growth <= RSS_BAR_MIB,
        "fds_ok": fd_growth <= 0,
        "p99_ok": p99_ratio <= P99_RATIO_BAR,
    }


def _markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Soak {result['started']}",
        "",
        f"{result['minutes']} min at {result['rate_per_s']} req/s, one worker; "
        f"warm-up {result['warm_up_min']} min. Verdict: `{json.dumps(result['verdict'])}`",
        "",
        "| minute | requests | errors | p99 ms | RSS MiB | fds | load (1, 5, 15 min) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in result["curve"]:
        load = ", ".join(str(x) for x in p["load"])
        lines.append(
            f"| {p['minute']} | {p['requests']} | {p['errors']} | {p['p99_ms']} "
            f"| {p['rss_mib']} | {p['fds']} | {load} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, all kinds")
    parser.add_argument("--window", type=float, default=60.0, help="seconds per sample")
    parser.add_argument("--warm-up", type=float, default=5.0, help="minutes not judged")
    parser.add_argument(
        "--cache-entries",
        type=int,
        default=None,
        help="the exact cache's max_entries (default: the gateway's, 100,000: with a miss "
        "stored every request it fills for an hour, growing RSS by design)",
    )
    args = parser.parse_args()
    started = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    curve = soak(args.minutes, args.rate, args.window, args.cache_entries)
    result = {
        "started": started,
        "minutes": args.minutes,
        "rate_per_s": args.rate,
        "warm_up_min": args.warm_up,
        "cache_max_entries": args.cache_entries,
        "cpus": os.cpu_count(),
        "curve": curve,
        "verdict": verdict(curve, args.warm_up),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"soak-{started}.json").write_text(json.dumps(result, indent=2))
    (RESULTS / f"soak-{started}.md").write_text(_markdown(result))
    print(json.dumps(result["verdict"]))
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
