"""`POST /route`: which model of an auto group should answer this conversation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from router_service.service import RouterService
from router_service.tracing import annotate

router = APIRouter()


class RouteRequest(BaseModel):
    # Other fields of a chat completion request may come along; they do not change the route.
    model_config = ConfigDict(extra="ignore")

    messages: list[dict[str, Any]] = Field(min_length=1)
    auto_group: str = Field(min_length=1)


class RouteResponse(BaseModel):
    model: str
    score: float
    threshold: float
    router: str
    latency_ms: float


@router.post("/route")
def route(body: RouteRequest, request: Request) -> RouteResponse:
    service: RouterService = request.app.state.service
    result = service.route(body.messages, body.auto_group)
    annotate(
        {
            "router.auto_group": body.auto_group,
            "router.model": result.model,
            "router.name": result.router,
            "router.score": result.score,
            "router.threshold": result.threshold,
            "router.latency_ms": result.latency_ms,
            "router.checkpoint": service.live.name,
        }
    )
    return RouteResponse(
        model=result.model,
        score=result.score,
        threshold=result.threshold,
        router=result.router,
        latency_ms=result.latency_ms,
    )
