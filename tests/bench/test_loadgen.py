"""bench.loadgen counts what it sent, times what came back, and counts what failed."""

from __future__ import annotations

import asyncio

import httpx

from bench.loadgen import Sample, Target, drive
from tests.support.processes import Simulator


def _drive(simulator: Simulator, *, stream: bool, requests: int, concurrency: int = 4) -> Sample:
    target = Target("direct", f"{simulator.v1}/chat/completions", "sk-test")
    return asyncio.run(
        drive(
            target,
            stream=stream,
            concurrency=concurrency,
            duration_s=30,
            max_requests=requests,
        )
    )


def _received(sim: httpx.Client) -> list[dict[str, object]]:
    return sim.get("/_sim/requests").json()["requests"]


def test_plain_requests_are_sent_once_each_and_timed(
    simulator: Simulator, sim: httpx.Client
) -> None:
    sample = _drive(simulator, stream=False, requests=40)
    assert (sample.requests, sample.errors) == (40, 0)
    assert all(latency > 0 for latency in sample.latencies_ms)
    assert sample.ttfts_ms == []
    received = _received(sim)
    assert len(received) == 40
    assert received[0]["headers"]["authorization"] == "Bearer sk-test"


def test_streams_are_read_to_their_end_with_a_time_to_first_token(
    simulator: Simulator, sim: httpx.Client
) -> None:
    sample = _drive(simulator, stream=True, requests=12)
    assert (sample.requests, sample.errors) == (12, 0)
    assert len(sample.ttfts_ms) == 12
    assert all(
        0 < t <= total for t, total in zip(sample.ttfts_ms, sample.latencies_ms, strict=True)
    )


def test_error_answers_and_cut_connections_count_as_errors(
    simulator: Simulator, sim: httpx.Client
) -> None:
    sim.post("/_sim/faults", json={"fault": "500", "count": 2}).raise_for_status()
    sim.post("/_sim/faults", json={"fault": "cut", "count": 1}).raise_for_status()
    sample = _drive(simulator, stream=True, requests=10, concurrency=1)
    assert sample.errors == 3
    assert sample.requests == 7
    assert sample.error_examples[0].startswith("HTTP 500")
    assert len(_received(sim)) == 10
