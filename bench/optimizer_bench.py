"""Does an OptiLLM approach improve an outcome? Accuracy and cost per approach, through the gateway.

The simulator's `noisy-solver` profile answers generated arithmetic word problems
(llm_proxy/simulator/word_problems.py) right with probability p and otherwise with a wrong
number close to the right one. Every problem goes through the gateway (a master key) with
`optillm_approach` set; the optimizer's sub-calls come back through the gateway, and the
parent request's spend record (its sub-calls' summed cost) is the cost of the answer.

What the simulator can show: voting over independent samples (`self_consistency`, majority of
five alike answers) turns a p = 0.6 solver into a better one, at five times the calls.
What it cannot: approaches whose gain comes from the model judging, critiquing or rating
drafts (moa, bon) need a real model; the simulator neither reads drafts nor rates them, so
they land near p whatever they cost. It also reports the optimizer's CPU per sub-call (its
process's CPU time over the run divided by the sub-calls it made): the overhead bar. With
`--redis URL` the gateway keeps its delegated credentials in that Redis (as replicas do),
and its CPU per request includes those round trips.

    .venv/bin/python -m bench.optimizer_bench [--problems 200] [--accuracy 0.6]
        [--approaches none,self_consistency,moa,bon] [--concurrency 8] [--seed 7] [--warmup 20]
        [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml
from llm_proxy.simulator.word_problems import WordProblem, generate

from bench.processes import Server, free_port, start, wait_ready

MASTER = "sk-bench-optimizer-master-0123456789"
MODEL = "solver"
_NUMBER = re.compile(r"-?\d+")
# Per million tokens, gpt-4o-mini's list prices: the cost ratio does not depend on them.
PRICES = {"input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.60}


@dataclass
class Row:
    approach: str
    problems: int
    accuracy: float
    sub_calls: int
    calls_per_problem: float
    tokens: int
    cost_usd: float
    cost_ratio: float
    optimizer_cpu_ms_per_sub_call: float | None
    # The gateway's CPU over every request it served for the row (parents and sub-calls).
    gateway_cpu_ms_per_request: float
    seconds: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--problems", type=int, default=200)
    parser.add_argument("--accuracy", type=float, default=0.6)
    parser.add_argument("--approaches", default="none,self_consistency,moa,bon")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=20, help="problems asked before measuring")
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--redis", default=None, help="the gateway's redis.url (default: none)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    problems = [generate(rng) for _ in range(args.problems)]
    with tempfile.TemporaryDirectory(prefix="optimizer-bench-") as scratch:
        servers, url = _start_stack(Path(scratch), args.accuracy, args.seed, args.redis)
        try:
            rows = []
            for name in _names(args):
                # Unmeasured first: the first requests of a path pay for lazy imports and
                # connections, which are not the per-call cost.
                _measure(servers, url, name, problems[: args.warmup], args.concurrency)
                rows.append(_measure(servers, url, name, problems, args.concurrency))
        finally:
            for server in reversed(list(servers.values())):
                server.stop()
    baseline = next((row for row in rows if row.approach == "none"), rows[0])
    for row in rows:
        row.cost_ratio = row.cost_usd / baseline.cost_usd if baseline.cost_usd else 0.0
    _print(rows, args)
    if args.out is not None:
        args.out.write_text(json.dumps([asdict(row) for row in rows], indent=2))


def _names(args: argparse.Namespace) -> list[str]:
    return [name.strip() for name in args.approaches.split(",") if name.strip()]


def _start_stack(
    directory: Path, accuracy: float, seed: int, redis_url: str | None
) -> tuple[dict[str, Server], str]:
    sim_port, gateway_port, optimizer_port = free_port(), free_port(), free_port()
    cores = {0, 1}
    sim_config = {
        "name": "bench-sim",
        "seed": seed,
        "record_limit": 0,
        "models": {MODEL: {"answers": "noisy-solver", "accuracy": accuracy}},
    }
    (directory / "sim.yaml").write_text(yaml.safe_dump(sim_config))
    gateway_config = {
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}"},
        "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
        "observability": {"request_log": False},
        "backends": [
            {
                "name": "solver",
                "provider": "simulator",
                "endpoint": f"http://127.0.0.1:{sim_port}/v1",
                "model": MODEL,
                **PRICES,
            }
        ],
        "optimizer": {"url": f"http://127.0.0.1:{optimizer_port}"},
    }
    if redis_url is not None:
        # A prefix of its own: the run's keys touch no one else's.
        prefix = f"bench-optimizer-{random.getrandbits(32):08x}:"
        gateway_config["redis"] = {"url": redis_url, "prefix": prefix}
    (directory / "gateway.yaml").write_text(yaml.safe_dump(gateway_config))
    python = sys.executable
    env = {"GATEWAY_MASTER_KEY": MASTER, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    servers = {
        "optimizer": start(
            "optimizer",
            [python, "-m", "optimizer", "serve", "--port", str(optimizer_port),
             "--gateway-url", f"http://127.0.0.1:{gateway_port}/v1", "--log-level", "warning"],
            cores=cores, log_dir=directory,
        ),
        "simulator": start(
            "simulator",
            [python, "-m", "llm_proxy.simulator", "--port", str(sim_port),
             "--config", str(directory / "sim.yaml")],
            cores=cores, log_dir=directory,
        ),
        "gateway": start(
            "gateway",
            [python, "-m", "llm_proxy", "serve", "--config", str(directory / "gateway.yaml"),
             "--port", str(gateway_port)],
            cores=cores, log_dir=directory, env=env, cwd=directory,
        ),
    }  # fmt: skip
    wait_ready(servers["gateway"], f"http://127.0.0.1:{gateway_port}/ready", 300)
    wait_ready(servers["optimizer"], f"http://127.0.0.1:{optimizer_port}/health", 300)
    return servers, f"http://127.0.0.1:{gateway_port}"


def _measure(
    servers: dict[str, Server],
    url: str,
    approach: str,
    problems: list[WordProblem],
    concurrency: int,
) -> Row:
    optimizer, gateway = servers["optimizer"], servers["gateway"]
    headers = {"authorization": f"Bearer {MASTER}"}
    with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
        # CPU time (from /proc), not wall time: a busy machine slows it less than it slows
        # latency. Read before the first request and after the last answer, so the admin
        # look-ups below are not in it.
        cpu_before, started = optimizer.cpu_seconds(), time.perf_counter()
        gateway_before = gateway.cpu_seconds()
        with ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(lambda p: _ask(client, approach, p), problems))
        seconds = time.perf_counter() - started
        cpu_s = optimizer.cpu_seconds() - cpu_before
        gateway_s = gateway.cpu_seconds() - gateway_before
        records = [_record(client, request_id) for _, request_id in answers]
        sub_calls = sum(_sub_calls(client, request_id) for _, request_id in answers)
    correct = sum(
        answer == problem.answer for (answer, _), problem in zip(answers, problems, strict=True)
    )
    tokens = sum(r["prompt_tokens"] + r["completion_tokens"] for r in records)
    calls = sub_calls if approach != "none" else len(problems)
    return Row(
        approach=approach,
        problems=len(problems),
        accuracy=correct / len(problems),
        sub_calls=calls,
        calls_per_problem=calls / len(problems),
        tokens=tokens,
        cost_usd=sum(r["cost_usd"] for r in records),
        cost_ratio=0.0,
        optimizer_cpu_ms_per_sub_call=cpu_s * 1000 / sub_calls if sub_calls else None,
        gateway_cpu_ms_per_request=gateway_s * 1000 / (len(problems) + sub_calls),
        seconds=seconds,
    )


def _ask(client: httpx.Client, approach: str, problem: WordProblem) -> tuple[int | None, str]:
    body: dict[str, Any] = {
        "model": MODEL,
        "messages": [{"role": "user", "content": f"{problem.text} Answer with the number only."}],
        "max_tokens": 16,
        "optillm_approach": approach,
    }
    response = client.post("/v1/chat/completions", json=body)
    response.raise_for_status()
    text = response.json()["choices"][0]["message"]["content"] or ""
    found = _NUMBER.search(text)
    return (int(found.group()) if found else None), response.headers["x-request-id"]


def _record(client: httpx.Client, request_id: str) -> dict[str, Any]:
    for _ in range(200):
        response = client.get(f"/admin/logs/{request_id}")
        if response.status_code == 200:
            return dict(response.json())
        time.sleep(0.05)
    response.raise_for_status()
    return {}


def _sub_calls(client: httpx.Client, request_id: str) -> int:
    page = client.get("/admin/logs", params={"parent_request_id": request_id, "limit": 200})
    return len(page.json()["data"])


def _print(rows: list[Row], args: argparse.Namespace) -> None:
    where = f"delegations in Redis ({args.redis})" if args.redis else "delegations in process"
    print(f"noisy-solver p={args.accuracy}, {args.problems} problems, seed {args.seed}, {where}")
    print("| approach | accuracy | calls/problem | tokens | cost (USD) | cost / none | "
          "optimizer CPU ms/sub-call | gateway CPU ms/request | wall s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        cpu = row.optimizer_cpu_ms_per_sub_call
        print(
            f"| {row.approach} | {row.accuracy:.3f} | {row.calls_per_problem:.2f} | {row.tokens} "
            f"| {row.cost_usd:.6f} | {row.cost_ratio:.2f} | "
            f"{'-' if cpu is None else f'{cpu:.2f}'} | {row.gateway_cpu_ms_per_request:.2f} "
            f"| {row.seconds:.1f} |"
        )


if __name__ == "__main__":
    main()
