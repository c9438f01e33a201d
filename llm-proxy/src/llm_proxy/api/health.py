"""Liveness, readiness, and what the gateway knows of each deployment's health."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_proxy.api.admin.access import GatewayDep, Readonly
from llm_proxy.gateway import Gateway
from llm_proxy.upstream.deployment import Deployment

router = APIRouter(tags=["Health"])


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="Readiness: the gateway can serve requests")
async def ready(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    if gateway.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    return JSONResponse({"status": "ready", "backends": len(gateway.registry.deployments)})


@router.get("/v1/providers/health", summary="Circuit state, error rates and latency per deployment")
async def providers_health(_: Readonly, gateway: GatewayDep) -> Response:
    """The master key or an admin token of any role (operators' view, not tenants')."""
    deployments = [describe_deployment(d) for d in gateway.registry.deployments.values()]
    return JSONResponse({"object": "list", "data": deployments})


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
        "available": health.available(now),
        "circuit_state": health.state.value,
        "cooling_down_s": round(max(0.0, health.cooldown_until - now), 3),
        "consecutive_failures": health.consecutive_failures,
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
