"""`GET /metrics`: Prometheus' text format, for scrapers (like `/health`, no key needed).

The labels carry model groups, providers, deployments and team ids, never keys or
prompts; keep the port private or put the scrape behind the edge's access rules.
"""

from __future__ import annotations

from fastapi import APIRouter
from llm_proxy.api.responses import error_response
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.telemetry.metrics import CONTENT_TYPE
from starlette.requests import Request
from starlette.responses import Response

router = APIRouter(tags=["Health"])


@router.get("/metrics", summary="Prometheus metrics: traffic, tokens, cost, latency, circuits")
async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    exported = gateway.telemetry.metrics
    if exported is None:
        off = GatewayError(404, "Metrics are off (observability.metrics: false).")
        return error_response(off, GatewayError.openai_body)
    return Response(exported.exposition(), media_type=CONTENT_TYPE)
