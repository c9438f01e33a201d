"""Responses API overhead next to chat completions: `python -m bench.responses_overhead`.

One simulator and one of our gateways (the same as bench.run's `ours`); at concurrency 1,
blocks of plain chat completions and plain Responses API requests (`store` left at its
default, so the stored copy is paid for) alternate, so a machine growing busier part-way
hurts both alike. The figure is the gateway's own `x-gateway-overhead-ms` (its time less the
upstream's), p50 and p99 per API, and the difference of the p50s. Results go to
bench/results/responses-overhead-<timestamp>.json and are printed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
import uvloop

from bench import servers
from bench.configs import MODEL
from bench.processes import cpu_count

_BODIES = {
    "chat": {"model": MODEL, "messages": [{"role": "user", "content": "Say hi"}]},
    "responses": {"model": MODEL, "input": "Say hi"},
}
_PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}


async def _block(base: str, api: str, requests: int, overheads: list[float]) -> None:
    headers = {"authorization": f"Bearer {servers.GATEWAY_KEY}", "content-type": "application/json"}
    body = json.dumps(_BODIES[api]).encode()
    async with aiohttp.ClientSession(headers=headers) as session:
        for _ in range(requests):
            async with session.post(base + _PATHS[api], data=body) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{api}: HTTP {response.status}")
                overheads.append(float(response.headers["x-gateway-overhead-ms"]))


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.responses_overhead")
    parser.add_argument("--blocks", type=int, default=10, help="alternating blocks per API")
    parser.add_argument("--per-block", type=int, default=200, help="requests per block")
    parser.add_argument("--no-store", action="store_true", help="send store: false")
    args = parser.parse_args(argv)
    if args.no_store:
        _BODIES["responses"] = {**_BODIES["responses"], "store": False}
    cores = set(range(cpu_count()))
    results: dict[str, list[float]] = {"chat": [], "responses": []}
    with tempfile.TemporaryDirectory(prefix="bench-responses-") as directory:
        work = Path(directory)
        simulator, direct = servers.start_simulator(work, cores)
        try:
            gateway, target = servers.start_gateway(work, direct, cores)
            base = target.url.removesuffix(_PATHS["chat"])
            try:
                for api in results:  # warm-up: imports, connections, the tokenizer
                    uvloop.run(_block(base, api, 100, []))
                for _ in range(args.blocks):
                    for api, overheads in results.items():
                        uvloop.run(_block(base, api, args.per_block, overheads))
            finally:
                gateway.stop()
        finally:
            simulator.stop()
    report = {
        api: {
            "requests": len(values),
            "overhead_p50_ms": round(statistics.median(values), 3),
            "overhead_p99_ms": round(_quantile(values, 0.99), 3),
        }
        for api, values in results.items()
    }
    difference = report["responses"]["overhead_p50_ms"] - report["chat"]["overhead_p50_ms"]
    summary = {
        "concurrency": 1,
        "store": not args.no_store,
        "apis": report,
        "p50_difference_ms": round(difference, 3),
    }
    out = servers.REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"responses-overhead-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(summary, indent=2))
    print(json.dumps(summary, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
