"""`/admin/sessions`: agent runs step by step, from the request log.

A session is every logged request that carried the same `x-session-id` (or
`metadata.session_id`). Its steps are those requests in the order they started, numbered
from 1, each with the model asked for and the one that answered (what `model: "auto"`
chose), tokens, cost, latency and the tools its answer called; the totals add them up.
Readable by any admin role.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import func, select

from llm_proxy.api.admin.access import Readonly, Session
from llm_proxy.api.admin.crud import Limit, Output
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.store.models import RequestLog

router = APIRouter(prefix="/admin/sessions", tags=["Admin: sessions"])


class Step(Output):
    step: int
    request_id: str
    started_at: datetime
    api: str
    status: int
    model_requested: str | None
    model_routed: str | None
    routed_from: str | None
    router_score: float | None
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float
    tool_calls: list[str]


class Totals(BaseModel):
    steps: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    latency_ms: float


class SessionSummary(Totals):
    id: str
    started_at: datetime
    last_at: datetime
    models: list[str]


class SessionList(BaseModel):
    object: str = "list"
    data: list[SessionSummary]


class SessionDetail(BaseModel):
    id: str
    steps: list[Step]
    totals: Totals


@router.get("", summary="Agent sessions, most recently active first, with their totals")
async def list_sessions(_: Readonly, session: Session, limit: Limit = 50) -> SessionList:
    last = func.max(RequestLog.started_at)
    query = (
        select(
            RequestLog.session_id,
            func.count(),
            func.coalesce(func.sum(RequestLog.prompt_tokens), 0),
            func.coalesce(func.sum(RequestLog.completion_tokens), 0),
            func.coalesce(func.sum(RequestLog.cost_usd), 0.0),
            func.coalesce(func.sum(RequestLog.latency_ms), 0.0),
            func.min(RequestLog.started_at),
            last,
        )
        .where(RequestLog.session_id.is_not(None))
        .group_by(RequestLog.session_id)
        .order_by(last.desc())
        .limit(limit)
    )
    rows = (await session.execute(query)).all()
    ids = [str(row[0]) for row in rows]
    models = await _models_by_session(session, ids)
    data = [
        SessionSummary(
            id=str(row[0]),
            steps=row[1],
            prompt_tokens=row[2],
            completion_tokens=row[3],
            cost_usd=row[4],
            latency_ms=row[5],
            started_at=row[6],
            last_at=row[7],
            models=models.get(str(row[0]), []),
        )
        for row in rows
    ]
    return SessionList(data=data)


@router.get("/{session_id}", summary="One agent session: its steps in order, and totals")
async def get_session(session_id: str, _: Readonly, session: Session) -> SessionDetail:
    query = (
        select(RequestLog)
        .where(RequestLog.session_id == session_id)
        .order_by(RequestLog.started_at, RequestLog.id)
    )
    rows = list((await session.scalars(query)).all())
    if not rows:
        raise GatewayError(404, f"No logged session with id '{session_id}'.", code="not_found")
    steps = [
        Step.model_validate({**_columns(row), "step": number})
        for number, row in enumerate(rows, start=1)
    ]
    totals = Totals(
        steps=len(steps),
        prompt_tokens=sum(s.prompt_tokens for s in steps),
        completion_tokens=sum(s.completion_tokens for s in steps),
        cost_usd=sum(s.cost_usd for s in steps),
        latency_ms=sum(s.latency_ms for s in steps),
    )
    return SessionDetail(id=session_id, steps=steps, totals=totals)


def _columns(row: RequestLog) -> dict[str, object]:
    return {name: getattr(row, name) for name in Step.model_fields if name != "step"}


async def _models_by_session(session: Session, ids: list[str]) -> dict[str, list[str]]:
    if not ids:
        return {}
    query = (
        select(RequestLog.session_id, RequestLog.model_routed)
        .where(RequestLog.session_id.in_(ids), RequestLog.model_routed.is_not(None))
        .distinct()
    )
    models: dict[str, list[str]] = {}
    for session_id, model in (await session.execute(query)).all():
        if session_id is not None and model is not None:
            models.setdefault(session_id, []).append(model)
    return {key: sorted(value) for key, value in models.items()}
