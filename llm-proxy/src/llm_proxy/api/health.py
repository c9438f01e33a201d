"""Liveness, readiness, and what the gateway knows of each deployment's health."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_proxy.api.admin.access import GatewayDep, Readonly
from llm_proxy.api.deployment_view import describe_deployment
from llm_proxy.gateway import Gateway

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
    # Requests waiting for a saturated group now, per group and priority class.
    queues = gateway.dispatcher.admission.depth()
    return JSONResponse({"object": "list", "data": deployments, "queues": queues})
