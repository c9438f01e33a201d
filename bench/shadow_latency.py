"""Client latency of `auto` requests with shadow judging on every request (share 1.0, or
`--share`) against none (share 0): the bar of issue 19 is at most 1 ms more at p50.

Two gateways (file config, SQLite) in front of one simulator that plays the pair (quality
marks on their answers) and the judge, each with a 5 ms answer; both gateways on core 0,
the simulator and this client on core 1. A team is made through the admin API to pay for
the shadow calls. The client sends sequential chat requests, one keep-alive connection per
gateway, and times each from send to its last byte:

- `paced`: a request every `--gap-ms` (default 100 ms), to each gateway in turn, so a shadow
  run (the other model, then the judge twice) is over before the next request: what the run
  does to the answer it judges, i.e. whether it delays it;
- `back-to-back`: the next request is sent as the last answer arrives (a block of
  requests to one gateway, then the other), so it overlaps the
  previous request's shadow run on the gateway's one core: the CPU a run takes from the
  requests around it, at share 1.0 (at a share of 0.01 it would be a hundredth of that).

Streamed and complete answers are measured apart. The figure is the shadowing gateway's p50
minus the other's (all rounds pooled), beside the load average; the shadow runs its /metrics
counted are printed beside the requests it served.

    .venv/bin/python -m bench.shadow_latency [--requests 300] [--rounds 2] [--gap-ms 100]
        [--share 1.0]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from bench.processes import Server, cpu_count, free_port, pin_self, start, wait_ready
from bench.servers import start_simulator

BAR_MS = 1.0
KEY = "sk-gw-bench-shadow"
WEAK, STRONG, JUDGE = "bench-weak", "bench-strong", "bench-judge"
_SIMULATOR = {
    "name": "sim-shadow-bench",
    "record_limit": 0,
    "default": {"latency_ms": 5, "output_tokens": 24, "ttft_ms": 2, "tokens_per_second": 4000},
    "models": {WEAK: {"quality": 3}, STRONG: {"quality": 8}, JUDGE: {"answers": "judge"}},
}
_BODY = {"model": "auto", "messages": [{"role": "user", "content": "Why is the sky blue?"}]}


def _simulator(work: Path, cores: set[int]) -> tuple[Server, str]:
    config = work / "simulator.yaml"
    config.write_text(yaml.safe_dump(_SIMULATOR))
    server, direct = start_simulator(work, cores, config)
    return server, direct.url.removesuffix("/v1/chat/completions")


def _gateway(work: Path, name: str, simulator: str, share: float) -> tuple[Server, str]:
    directory = work / name
    directory.mkdir()
    port = free_port()
    backends = [
        {"name": model, "provider": "simulator", "endpoint": f"{simulator}/v1", "model": model}
        for model in (WEAK, STRONG, JUDGE)
    ]
    shadow = {"share": share, "judge_model": JUDGE, "budget": {"team": "shadow-bench"}}
    config = {
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}"},
        "spend": {"spool_dir": str(directory / "spool")},
        "backends": backends,
        "routing": {
            # No router-service: the group's default answers, after one refused connection.
            "router_service": {"url": f"http://127.0.0.1:{free_port()}", "deadline_ms": 50},
            "auto_groups": {"auto": {"default": WEAK, "strong": STRONG, "shadow": shadow}},
        },
        "observability": {"request_log": False},
    }
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path)]
    argv += ["--port", str(port)]
    env: dict[str, str | None] = {"GATEWAY_MASTER_KEY": KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    server = start(name, argv, cores={0}, log_dir=directory, env=env)
    base = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{base}/ready", timeout_s=120)
    with httpx.Client(base_url=base, headers={"authorization": f"Bearer {KEY}"}) as http:
        budget = http.post("/admin/budgets", json={"name": "shadow-bench", "usd_daily": 1e6})
        budget.raise_for_status()
        team = {"name": "shadow-bench", "budget_id": budget.json()["id"]}
        http.post("/admin/teams", json=team).raise_for_status()
    return server, base


def _timed(http: httpx.Client, stream: bool) -> float:
    body = {**_BODY, "stream": True} if stream else _BODY
    started = time.perf_counter()
    if stream:
        with http.stream("POST", "/v1/chat/completions", json=body) as response:
            for _ in response.iter_raw():
                pass
    else:
        response = http.post("/v1/chat/completions", json=body)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"status {response.status_code}: {response.read()[:200]!r}")
    return elapsed


def _back_to_back(http: httpx.Client, requests: int) -> list[float]:
    return [_timed(http, stream=False) for _ in range(requests)]


def _paced(
    clients: dict[str, httpx.Client], requests: int, stream: bool, gap_s: float
) -> dict[str, list[float]]:
    """One request to each gateway in turn, a request every `gap_s`: drift in the machine's
    load falls on both alike."""
    samples: dict[str, list[float]] = {name: [] for name in clients}
    for turn in range(requests):
        # Each gateway first in every other turn, so neither always follows the other.
        order = list(clients.items())
        for name, http in order if turn % 2 == 0 else order[::-1]:
            started = time.perf_counter()
            samples[name].append(_timed(http, stream))
            pause = gap_s - (time.perf_counter() - started)
            if pause > 0:
                time.sleep(pause)
    return samples


def _shadow_runs(base: str) -> dict[str, float]:
    text = httpx.get(f"{base}/metrics", timeout=10).text
    runs: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gateway_shadow_runs_total":
                runs[sample.labels["outcome"]] = sample.value
    return runs


def measure(requests: int, rounds: int, gap_ms: float, share: float) -> dict[str, Any]:
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="shadow-bench-") as tmp:
        work = Path(tmp)
        client_cores = {1} if cpu_count() > 1 else {0}
        simulator, sim_base = _simulator(work, client_cores)
        pin_self(client_cores)
        gateways = {
            "shadowed": _gateway(work, "shadowed", sim_base, share),
            "unshadowed": _gateway(work, "unshadowed", sim_base, 0.0),
        }
        headers = {"authorization": f"Bearer {KEY}"}
        clients = {
            name: httpx.Client(base_url=base, headers=headers, timeout=30)
            for name, (_, base) in gateways.items()
        }
        modes = ("paced_complete", "paced_streamed", "back_to_back_complete")
        samples: dict[str, dict[str, list[float]]] = {m: {g: [] for g in clients} for m in modes}
        served = 0
        try:
            for http in clients.values():
                _back_to_back(http, 50)  # warm-up: connections, imports, allocator
            served += 50
            for _ in range(rounds):
                for mode in modes[:2]:
                    paced = _paced(clients, requests, mode.endswith("streamed"), gap_ms / 1000)
                    for name, values in paced.items():
                        samples[mode][name] += values
                for name, http in clients.items():
                    samples[modes[2]][name] += _back_to_back(http, requests)
                served += 3 * requests
            time.sleep(1.0)  # the last runs end
            runs = _shadow_runs(gateways["shadowed"][1])
            quiet = _shadow_runs(gateways["unshadowed"][1])
        finally:
            for http in clients.values():
                http.close()
            for server, _ in gateways.values():
                server.stop()
            simulator.stop()
    result: dict[str, Any] = {
        "requests_per_round": requests,
        "rounds": rounds,
        "gap_ms": gap_ms,
        "bar_ms": BAR_MS,
        "share": share,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "cores": os.cpu_count(),
        "shadow_runs_shadowed": runs,
        "shadow_runs_unshadowed": quiet,
        "requests_per_gateway": served,
    }
    for mode, by_gateway in samples.items():
        on = statistics.median(by_gateway["shadowed"])
        off = statistics.median(by_gateway["unshadowed"])
        result[mode] = {
            "p50_ms_shadowed": round(on, 3),
            "p50_ms_unshadowed": round(off, 3),
            "p50_added_ms": round(on - off, 3),
            "within_bar": on - off <= BAR_MS,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--gap-ms", type=float, default=100.0)
    parser.add_argument("--share", type=float, default=1.0, help="the shadowing gateway's")
    args = parser.parse_args()
    print(json.dumps(measure(args.requests, args.rounds, args.gap_ms, args.share), indent=2))


if __name__ == "__main__":
    main()
