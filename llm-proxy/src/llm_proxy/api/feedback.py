"""`POST /v1/feedback`: a caller reports how one of its own requests turned out.

The outcome (a score from 0 to 1, optionally a label and a comment) is kept against the
request id; prompt experiments report it per variant. A caller may score only requests
made with its own key (the master key: any); sending again replaces the earlier score.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field
from sqlalchemy import select
from starlette.requests import Request

from llm_proxy.api.admin.crud import Input
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify
from llm_proxy.store.models import Feedback, RequestLog

router = APIRouter(tags=["Feedback"])


class FeedbackIn(Input):
    request_id: Annotated[str, Field(min_length=1, max_length=128)]
    score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
    label: Annotated[str, Field(max_length=64)] | None = None
    comment: Annotated[str, Field(max_length=2000)] | None = None


class FeedbackOut(Input):
    request_id: str
    score: float
    label: str | None
    comment: str | None


@router.post("/v1/feedback", summary="Record the outcome of one of your requests")
async def feedback(body: FeedbackIn, request: Request) -> FeedbackOut:
    gateway: Gateway = request.app.state.gateway
    identity = await identify(dict(request.headers), gateway.master_key, gateway.directory)
    async with gateway.database.session() as session:
        logged = (
            await session.execute(
                select(RequestLog.key_id).where(RequestLog.request_id == body.request_id)
            )
        ).first()
        if logged is None or (not identity.is_master and logged.key_id != identity.key_id):
            # The same answer for another caller's request as for none: ids reveal nothing.
            raise GatewayError(
                404,
                f"No request '{body.request_id}' of yours in the log (requests reach it "
                "within about a second of their answer).",
                code="not_found",
            )
        row = await session.get(Feedback, body.request_id) or Feedback(request_id=body.request_id)
        row.key_id, row.team_id = identity.key_id, identity.team_id
        row.score, row.label, row.comment = body.score, body.label, body.comment
        session.add(row)
        await session.commit()
    return FeedbackOut(**body.model_dump())
