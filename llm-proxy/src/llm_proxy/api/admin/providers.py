"""`/admin/providers`: each deployment's health for the dashboard, readable by any admin role.

The same description as `/v1/providers/health`, typed for the dashboard, with the queues
of saturated groups.
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


class QueueDepth(BaseModel):
    high: int
    normal: int
    low: int


class ProvidersHealth(BaseModel):
    object: str = "list"
    data: list[DeploymentHealth]
    queues: dict[str, QueueDepth] = Field(
        description="requests waiting for a saturated group now, per group and priority class "
        "(policies.priority / policies.fair_share); a group nobody waits for is absent"
    )


@router.get("", summary="Circuit state, error rates and latency per deployment")
async def providers(_: Readonly, gateway: GatewayDep) -> ProvidersHealth:
    described: list[dict[str, Any]] = [
        describe_deployment(d) for d in gateway.registry.deployments.values()
    ]
    queues = {
        group: QueueDepth(**counts)
        for group, counts in gateway.dispatcher.admission.depth().items()
        if any(counts.values())
    }
    return ProvidersHealth(data=[DeploymentHealth(**d) for d in described], queues=queues)
