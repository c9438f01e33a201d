"""`POST /admin/router/promote {"checkpoint": "<file name>"}`: serve a checkpoint trained by
`train --from-gateway` if it beats the live one on the same held-out labels.

200 with both figures when promoted (the swap is immediate, and recorded in the checkpoints
directory's `live.json` for the other replicas); 409 with both figures when it does not
beat the live one; 400 / 404 for a name that is not a checkpoint file of the directory.
Authenticated as `/admin/calibrate` is (bearer ROUTER_SERVICE_ADMIN_TOKEN), except that
without that token set the call is refused (403) rather than open.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from router_service.api.admin import TOKEN_VARIABLE, authorised
from router_service.api.errors import error_body, error_response
from router_service.promotion import PromotionError
from router_service.service import RouterService

router = APIRouter()


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    checkpoint: str


@router.post("/admin/router/promote", response_model=None)
def promote(body: PromoteRequest, request: Request) -> JSONResponse | dict[str, Any]:
    if request.app.state.admin_token is None:
        # Unlike a recalibration, a promotion changes which router answers: never open.
        message = f"promotion over HTTP needs {TOKEN_VARIABLE} set at start-up"
        return error_response(403, message, "admin_token_not_set")
    if not authorised(request):
        return error_response(401, "a valid admin bearer token is required", "unauthorized")
    service: RouterService = request.app.state.service
    try:
        return service.promote(body.checkpoint).as_json()
    except PromotionError as error:
        answer = error_body(error.status, str(error), error.code, "checkpoint")
        return JSONResponse({**answer, **error.figures}, status_code=error.status)
