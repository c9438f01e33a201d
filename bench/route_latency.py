"""Route latency of router-service for a 2,000-token conversation, and its start-up time.

Starts the service offline (HF_HUB_OFFLINE=1) as `python -m router_service serve` on a free
loopback port, times start-up until /health answers, then sends sequential POST /route calls,
each with a different multi-turn conversation of about 2,000 word pieces (MiniLM's tokenizer;
the text varies per call, so nothing can be served from a cache). Reports client-side and
server-side (latency_ms) percentiles. The bar (issue 4): p99 <= 20 ms, start <= 15 s.

    .venv/bin/python bench/route_latency.py [--requests 500] [--url http://127.0.0.1:8081]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

P99_BAR_MS = 20.0
START_BAR_S = 15.0
TARGET_TOKENS = 2000

_TEXT = (
    "the service routes each request to the cheapest model that answers it as well as the strong "
    "one while budgets caching retries and fallbacks keep costs visible across teams and keys "
    "please refactor this function so that it handles empty inputs raises a clear error and "
    "explain why the integral of x squared from zero to three equals nine then compare the "
    "performance of both approaches on a large dataset with millions of rows and summarise "
    "the trade offs for latency memory and correctness in a short table for the design review"
)
_WORDS = _TEXT.split()


@dataclass(frozen=True)
class Stats:
    p50: float
    p90: float
    p99: float
    maximum: float

    def line(self, label: str) -> str:
        return (
            f"{label:<22} p50 {self.p50:6.2f} ms  p90 {self.p90:6.2f} ms  "
            f"p99 {self.p99:6.2f} ms  max {self.maximum:6.2f} ms"
        )


def stats(samples: list[float]) -> Stats:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return Stats(p50=cuts[49], p90=cuts[89], p99=cuts[98], maximum=max(samples))


def conversation(rng: random.Random, target_tokens: int) -> list[dict[str, str]]:
    """system + three user/assistant exchanges + a final user turn, ~target_tokens in all
    (about 1.15 word pieces per word for this vocabulary)."""
    words = int(target_tokens / 1.15)
    shares = (0.08, 0.12, 0.2, 0.12, 0.2, 0.12, 0.16)
    roles = ("system", "user", "assistant", "user", "assistant", "user", "user")
    messages = []
    for role, share in zip(roles, shares, strict=True):
        text = " ".join(rng.choice(_WORDS) for _ in range(int(words * share)))
        messages.append({"role": role, "content": f"{rng.randrange(10**9)} {text}"})
    # Keep the alternation of a real chat: the last two user parts are one turn.
    last = messages.pop()
    messages[-1]["content"] += "\n\n" + last["content"]
    return messages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(port: int) -> tuple[subprocess.Popen[bytes], float, float]:
    """The process, seconds until it routes (/health answers), seconds until RouteLLM's
    router table has loaded in the background as well."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "router_service", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/health"
    serving: float | None = None
    while time.perf_counter() - started < 120:
        if process.poll() is not None:
            raise SystemExit(f"router-service exited with {process.returncode} during start-up")
        try:
            health = httpx.get(url, timeout=1.0)
            if health.status_code == 200:
                serving = serving or time.perf_counter() - started
                if not health.json()["loading_routers"]:
                    return process, serving, time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    process.kill()
    raise SystemExit("router-service did not answer /health within 120 s")


def token_count(messages: list[dict[str, str]]) -> int:
    from router_service.embedding import MiniLMEncoder

    encoder = MiniLMEncoder.from_package()
    return sum(encoder.count_tokens(m["content"]) for m in messages)


def measure(url: str, requests: int, group: str) -> tuple[list[float], list[float]]:
    rng = random.Random(4)
    bodies = [
        json.dumps({"messages": conversation(rng, TARGET_TOKENS), "auto_group": group})
        for _ in range(requests + 20)
    ]
    client_ms: list[float] = []
    server_ms: list[float] = []
    headers = {"content-type": "application/json"}
    with httpx.Client(base_url=url, timeout=10.0) as client:
        for index, body in enumerate(bodies):
            started = time.perf_counter()
            response = client.post("/route", content=body, headers=headers)
            elapsed = (time.perf_counter() - started) * 1000
            response.raise_for_status()
            if index >= 20:  # the first calls warm the connection and the allocator
                client_ms.append(elapsed)
                server_ms.append(float(response.json()["latency_ms"]))
    return client_ms, server_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--group", default="auto")
    parser.add_argument("--url", default=None, help="measure a running service instead")
    arguments = parser.parse_args()
    process = None
    if arguments.url is None:
        port = free_port()
        process, start_s, table_s = start_service(port)
        url = f"http://127.0.0.1:{port}"
        print(
            f"start-up until it routes (/health answers): {start_s:.2f} s (bar {START_BAR_S:.0f} s)"
        )
        print(f"until RouteLLM's router table has loaded too: {table_s:.2f} s")
    else:
        url = arguments.url
    try:
        sample = conversation(random.Random(4), TARGET_TOKENS)
        print(f"conversation: {len(sample)} messages, {token_count(sample)} word pieces")
        client_ms, server_ms = measure(url, arguments.requests, arguments.group)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=10)
    client, server = stats(client_ms), stats(server_ms)
    print(f"{arguments.requests} sequential POST /route calls, each a different conversation")
    print(client.line("client (HTTP round trip)"))
    print(server.line("server (latency_ms)"))
    verdict = "meets" if client.p99 <= P99_BAR_MS else "misses"
    print(
        f"p99 {client.p99:.2f} ms {verdict} the {P99_BAR_MS:.0f} ms bar; load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
