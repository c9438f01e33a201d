"""`GET /metrics`: Prometheus' text format, for scrapers.

With `observability.metrics_token_ref` set, a scrape must bring that token as a bearer
token (Prometheus' `authorization` setting); unset, the endpoint is open, for a port that
only the scraper reaches. The labels carry model groups, providers, deployments and team
ids, never keys or prompts.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.responses import error_response
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import credential
from llm_proxy.telemetry.metrics import CONTENT_TYPE

router = APIRouter(tags=["Health"])


@router.get("/metrics", summary="Prometheus metrics: traffic, tokens, cost, latency, circuits")
async def metrics(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    exported = gateway.telemetry.metrics
    if exported is None:
        off = GatewayError(404, "Metrics are off (observability.metrics: false).")
        return error_response(off, GatewayError.openai_body)
    token = gateway.metrics_token
    if token is not None:
        presented = credential(dict(request.headers)) or ""
        if not hmac.compare_digest(presented.encode(), token.encode()):
            refused = GatewayError(401, "Scraping /metrics needs its bearer token.")
            return error_response(refused, GatewayError.openai_body)
    return Response(exported.exposition(), media_type=CONTENT_TYPE)
