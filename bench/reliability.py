"""Issue 11's figures: failover from a hung provider, and the write-ahead file's cost.

    .venv/bin/python -m bench.reliability failover   # two simulators, one SIGSTOPped
    .venv/bin/python -m bench.reliability wal        # CPU per spend record, with and without

`failover`: one gateway (`llm-proxy serve`, one worker) in front of two simulators serving
one model under the priority strategy; open-loop load (`bench.openloop`, 50 req/s, half
streamed) to 127.0.0.1; the primary is frozen with SIGSTOP `--hang-at` seconds in. It
reports client errors, the latency of the requests the hang caught (sent from 1 s before
it on), and when the last request that needed a hedge was sent: after that, every
request went straight to the backup. `wal`: `SpendLog.record` on a real record, timed
with the process's CPU clock, with the write-ahead file on and off. Print `uptime` with
the figures: this machine is shared. The soak is `bench.soak`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bench import openloop
from bench.processes import Server, cpu_count, free_port, start, wait_ready

_KEY = "sk-gw-bench-master"
_SIMULATOR = {"name": "sim", "default": {"output_tokens": 12}, "record_limit": 100}


def _simulator(work: Path, name: str) -> tuple[Server, str]:
    path = work / f"{name}.yaml"
    path.write_text(yaml.safe_dump({**_SIMULATOR, "name": name}))
    port = free_port()
    argv = [sys.executable, "-m", "llm_proxy.simulator", "--port", str(port), "--config", str(path)]
    server = start(name, argv, cores=set(range(cpu_count())), log_dir=work)
    url = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{url}/health", timeout_s=30)
    return server, url


def _gateway(work: Path, primary: str, backup: str, **sections: Any) -> tuple[Server, str]:
    port = free_port()
    config: dict[str, Any] = {
        "database": {"url": f"sqlite+aiosqlite:///{work}/gateway.db"},
        "backends": [
            {
                "name": "primary",
                "provider": "simulator",
                "endpoint": f"{primary}/v1",
                "model": "m",
                "priority": 0,
            },
            {
                "name": "backup",
                "provider": "simulator",
                "endpoint": f"{backup}/v1",
                "model": "m",
                "priority": 1,
            },
        ],
        "routing": {"strategy": "priority"},
        "observability": {"request_log": False},
        "spend": {"spool_dir": str(work / "spool")},
        **sections,
    }
    path = work / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path), "--port", str(port)]
    env = {"GATEWAY_MASTER_KEY": _KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    server = start("gateway", argv, cores=set(range(cpu_count())), log_dir=work, env=env)
    url = f"http://127.0.0.1:{port}"
    wait_ready(server, f"{url}/ready", timeout_s=180)
    return server, url


def failover(rate: float, seconds: float, hang_at: float) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        primary, primary_url = _simulator(work, "primary")
        backup, backup_url = _simulator(work, "backup")
        servers = [primary, backup]
        try:
            gateway, url = _gateway(work, primary_url, backup_url)
            servers.append(gateway)
            hung_at: list[float] = []

            def hang() -> None:
                os.kill(primary.pid, signal.SIGSTOP)
                hung_at.append(time.monotonic())

            schedule = openloop.Schedule(url, _KEY, rate, seconds)
            outcomes = asyncio.run(openloop.run(schedule, [(hang_at, hang)]))
        finally:
            os.kill(primary.pid, signal.SIGCONT)
            for server in servers:
                server.stop()
    caught = [o for o in outcomes if o.sent_at >= hang_at - 1.0]
    latencies = sorted(o.took_s for o in caught)
    hedged = [o for o in outcomes if o.headers.get("x-gateway-hedged-to")]
    return {
        "requests": len(outcomes),
        "client_errors": sum(1 for o in outcomes if not o.answered),
        "hedged": len(hedged),
        "caught_by_the_hang": len(caught),
        "their_p50_s": round(statistics.median(latencies), 3),
        "their_p99_s": round(latencies[int(0.99 * (len(latencies) - 1))], 3),
        "their_max_s": round(latencies[-1], 3),
        "last_hedged_request_sent_after_hang_s": (
            round(max(o.sent_at for o in hedged) - hang_at, 3) if hedged else None
        ),
        "first_direct_to_backup_after_hang_s": next(
            (
                round(o.sent_at - hang_at, 3)
                for o in outcomes
                if o.sent_at >= hang_at
                and o.headers.get("x-gateway-deployment") == "backup"
                and not o.headers.get("x-gateway-hedged-to")
            ),
            None,
        ),
    }


def wal_cost(records: int) -> dict[str, Any]:
    """CPU per record of what `SpendLog.record` adds: the row, its JSON line, one write."""
    from llm_proxy.spend.wal import WriteAhead
    from llm_proxy.store.request_log import RequestRecord

    now = datetime.now(UTC)
    record = RequestRecord(
        request_id="req_0123456789abcdef0123456789abcdef",
        started_at=now,
        finished_at=now,
        api="chat",
        model_requested="gpt-4o-mini",
        model_routed="gpt-4o-mini",
        provider="openai",
        deployment="mini-a",
        status=200,
        prompt_tokens=120,
        completion_tokens=240,
        cost_usd=0.000162,
        latency_ms=812.5,
        key_id="key_0123456789",
        team_id="team_0123456789",
    )
    with tempfile.TemporaryDirectory() as directory:
        wal = WriteAhead(Path(directory), "bench")
        wal.open()
        cpu, wall = time.process_time(), time.perf_counter()
        for number in range(records):
            wal.append(record)
            if number % 500 == 499:  # the writer empties a file after every flush
                wal.seal()
                wal.written(everything=True)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        wal.close()
    return {
        "records": records,
        "cpu_us_per_record": round(cpu / records * 1e6, 2),
        "wall_us_per_record": round(wall / records * 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("failover", "wal"))
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--hang-at", type=float, default=2.0)
    parser.add_argument("--records", type=int, default=200_000)
    args = parser.parse_args()
    if args.what == "failover":
        print(failover(args.rate, args.seconds, args.hang_at))
    else:
        print(wal_cost(args.records))
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
