"""`POST /admin/calibrate`: recompute `target_strong_share` thresholds from recent scores.

The scores come in the body (the gateway has them in its spend log, across all replicas) or,
when the body has none, from the scores this replica saw itself for that group. When
ROUTER_SERVICE_ADMIN_TOKEN is set at start-up, the call needs it as a bearer token.
"""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from router_service.api.errors import error_response
from router_service.service import RouterService

router = APIRouter()

TOKEN_VARIABLE = "ROUTER_SERVICE_ADMIN_TOKEN"


class CalibrateRequest(BaseModel):
    # One group, or every group whose tiers are set by target_strong_share.
    auto_group: str | None = None
    scores: list[float] | None = Field(default=None, max_length=1_000_000)
    min_samples: int = Field(default=100, ge=1)


@router.post("/admin/calibrate", response_model=None)
def calibrate(body: CalibrateRequest, request: Request) -> JSONResponse | dict[str, Any]:
    if not authorised(request):
        return error_response(401, "a valid admin bearer token is required", "unauthorized")
    service: RouterService = request.app.state.service
    names = [body.auto_group] if body.auto_group else service.share_groups()
    return service.recalibrate(names, body.scores, body.min_samples)


def authorised(request: Request) -> bool:
    """The admin bearer token, when one is set (the calls of `/admin/*` all need it)."""
    token: str | None = request.app.state.admin_token
    if not token:
        return True
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), token.encode())
