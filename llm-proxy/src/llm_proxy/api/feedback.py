"""`POST /v1/feedback`: a caller reports how one of its own requests turned out.

The outcome (a score from 0 to 1, optionally a label and a comment) is kept against the
request id; prompt experiments report it per variant. A caller may score only requests
made with its own key (the master key: any); sending again replaces the earlier score.

On a request of an auto group that keeps its router's inputs (`labels.keep_prompts`),
the score also becomes a route label (source "feedback"), in the same transaction. A
score rates the one answer the caller saw, so what it says about the pair depends on
which model wrote it:

- the weak model's answer: `strong_wins = 1 - score`; a perfect weak answer leaves the
  strong model nothing to win (0), a worthless one is where it would have (1);
- the strong model's answer scored below 0.5: `strong_wins = 0`, paying for the strong
  model bought nothing the weak one would not have;
- the strong model's answer scored 0.5 or more: no label, since a good strong answer
  says nothing about what the weak model would have written (shadow judging asks it).

A request answered by neither model of the pair (a fallback), one whose input has
expired or was never kept, makes no label; `route_label` in the answer says which.
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
from llm_proxy.store.route_labels import KeptInput, Label

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
    route_label: float | None = Field(
        None,
        description="the route label (strong_wins) this score became for an auto request; "
        "null when it made none",
    )


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
        kept = await gateway.labels.kept(session, body.request_id)
        strong_wins = _strong_wins(kept, body.score) if kept is not None else None
        if kept is not None and strong_wins is None:
            await gateway.labels.drop(session, body.request_id, "feedback")  # an earlier score's
        elif kept is not None and strong_wins is not None:
            detail = {"score": body.score, "answered_by": kept.pair.routed_model}
            await gateway.labels.put(
                session,
                Label(body.request_id, "feedback", kept.pair, kept.messages, strong_wins, detail),
            )
        await session.commit()
    return FeedbackOut(**body.model_dump(), route_label=strong_wins)


def _strong_wins(kept: KeptInput, score: float) -> float | None:
    """What a score of the answer the caller saw says about the pair (see the module)."""
    if kept.pair.routed_model == kept.pair.weak_model:
        return 1.0 - score
    return 0.0 if score < 0.5 else None
