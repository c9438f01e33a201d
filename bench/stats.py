"""Summaries of one measured cell: percentiles, rates and per-request server cost."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.loadgen import Sample

MIB = 1024 * 1024


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100) by linear interpolation; None when there is no data."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Usage:
    """CPU seconds over a cell (server under test, simulator, every other process on the
    machine: other sessions' work competes for the same two cores), RSS at its end."""

    server_cpu_s: float
    simulator_cpu_s: float
    foreign_cpu_s: float
    server_rss_bytes: int


@dataclass
class Cell:
    """One cell (target, mode, concurrency) summarised. Overheads are filled in by the report."""

    target: str
    mode: str  # "chat" or "stream"
    concurrency: int
    requests: int
    errors: int
    elapsed_s: float
    rps: float
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    ttft_p50_ms: float | None
    ttft_p99_ms: float | None
    reported_overhead_p50_ms: float | None  # the gateway's own x-gateway-overhead-ms
    reported_overhead_p99_ms: float | None
    server_cpu_ms_per_request: float | None
    server_rss_mib: float
    client_cpu_percent: float  # load generator, one process, on the client core
    simulator_cpu_percent: float
    foreign_cpu_percent: float  # processes not part of the benchmark, all cores together
    error_examples: list[str] = field(default_factory=list)
    overhead: dict[str, float | None] = field(default_factory=dict)


def summarize(target: str, mode: str, concurrency: int, sample: Sample, usage: Usage) -> Cell:
    """Reduce a raw sample and the processes' usage to the figures the report shows."""
    done = sample.requests
    elapsed = sample.elapsed_s or 1e-9
    return Cell(
        target=target,
        mode=mode,
        concurrency=concurrency,
        requests=done,
        errors=sample.errors,
        elapsed_s=round(sample.elapsed_s, 3),
        rps=done / elapsed,
        latency_p50_ms=percentile(sample.latencies_ms, 50),
        latency_p99_ms=percentile(sample.latencies_ms, 99),
        ttft_p50_ms=percentile(sample.ttfts_ms, 50),
        ttft_p99_ms=percentile(sample.ttfts_ms, 99),
        reported_overhead_p50_ms=percentile(sample.reported_overheads_ms, 50),
        reported_overhead_p99_ms=percentile(sample.reported_overheads_ms, 99),
        server_cpu_ms_per_request=usage.server_cpu_s * 1000 / done if done else None,
        server_rss_mib=usage.server_rss_bytes / MIB,
        client_cpu_percent=100 * sample.client_cpu_s / elapsed,
        simulator_cpu_percent=100 * usage.simulator_cpu_s / elapsed,
        foreign_cpu_percent=100 * usage.foreign_cpu_s / elapsed,
        error_examples=sample.error_examples,
    )
