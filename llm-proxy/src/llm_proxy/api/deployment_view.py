"""One deployment's health as the operators' views show it (health and admin routes)."""

from __future__ import annotations

import time
from typing import Any

from llm_proxy.upstream.deployment import Deployment


def describe_deployment(deployment: Deployment) -> dict[str, Any]:
    """What `/v1/providers/health` and `/admin/providers` say of one deployment."""
    health = deployment.health
    now = time.monotonic()
    requests, tokens = deployment.usage.current(now)
    return {
        "deployment": deployment.name,
        "provider": deployment.provider,
        "model": deployment.backend.model,
        "serves": deployment.backend.public_names,
        "region": deployment.backend.region,
        "available": health.available(now),
        "circuit_state": health.state.value,
        "cooling_down_s": round(max(0.0, health.cooldown_until - now), 3),
        "consecutive_failures": health.consecutive_failures,
        "probe_failures": health.probe_failures,
        "deadlines_missed": health.deadlines_missed,
        "first_byte_p95_ms": health.observed.first_byte_p95_ms(),
        "error_rate_1m": health.error_rate(60, now),
        "error_rate_5m": health.error_rate(300, now),
        "latency_p50_ms": health.latency_percentile_ms(0.5),
        "latency_p99_ms": health.latency_percentile_ms(0.99),
        "last_success_at": health.last_success_at,
        "last_failure_at": health.last_failure_at,
        "last_failure": health.last_failure,
        "in_flight": deployment.in_flight,
        "requests_last_minute": requests,
        "tokens_last_minute": tokens,
    }
