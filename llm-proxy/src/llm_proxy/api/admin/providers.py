"""`/admin/providers`: each deployment's health for the dashboard, readable by any admin role.

The same description as `/v1/providers/health` (which takes only the master key), behind
the admin roles and dashboard sessions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from llm_proxy.api.admin.access import GatewayDep, Readonly
from llm_proxy.api.deployment_view import describe_deployment

router = APIRouter(prefix="/admin/providers", tags=["Admin: providers"])


class DeploymentHealth(BaseModel):
    deployment: str
    provider: str
    model: str
    serves: list[str]
    available: bool
    circuit_state: str
    cooling_down_s: float
    consecutive_failures: int
    error_rate_1m: float | None = Field(description="none: no requests in the window")
    error_rate_5m: float | None
    latency_p50_ms: float | None
    latency_p99_ms: float | None
    last_success_at: float | None
    last_failure_at: float | None
    last_failure: str | None
    in_flight: int
    requests_last_minute: int
    tokens_last_minute: int


class ProvidersHealth(BaseModel):
    object: str = "list"
    data: list[DeploymentHealth]


@router.get("", summary="Circuit state, error rates and latency per deployment")
async def providers(_: Readonly, gateway: GatewayDep) -> ProvidersHealth:
    described: list[dict[str, Any]] = [
        describe_deployment(d) for d in gateway.registry.deployments.values()
    ]
    return ProvidersHealth(data=[DeploymentHealth(**d) for d in described])
