"""`/admin/logs`: the request log, filtered and paged; one request with its stage timings.

Rows are sorted by start time (newest first unless `order=asc`), ties broken by row id,
and paged by a cursor holding the last row's (start, id): a page stays right while new
requests are logged. Readable by any admin role, and by a virtual key's dashboard session
for its own key's and team's requests.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy import ColumnElement, and_, or_, select

from llm_proxy.api.admin.access import Caller, Session, Viewer
from llm_proxy.api.admin.crud import After, Limit, ListOf, Output
from llm_proxy.api.admin.log_filter import Filter, visible_to
from llm_proxy.api.admin.schemas import INT64_MAX
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.store.models import RequestLog
from llm_proxy.store.request_log import find_request

router = APIRouter(prefix="/admin/logs", tags=["Admin: logs"])

Order = Annotated[Literal["desc", "asc"], Query(description="by start time")]


class LogEntry(Output):
    request_id: str
    client_request_id: str | None = Field(
        None, description="the caller's x-request-id (clipped to 128 characters), if it sent one"
    )
    started_at: datetime
    finished_at: datetime
    api: str
    status: int
    key_id: str | None
    team_id: str | None
    user_id: str | None
    model_requested: str | None
    model_routed: str | None
    provider: str | None
    deployment: str | None
    region: str | None = Field(None, description="the region of the deployment that answered")
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    cost_usd: float
    latency_ms: float
    ttft_ms: float | None
    stream: bool
    cache_hit: bool
    fallback_used: bool
    attempts: int
    router_score: float | None
    routed_from: str | None
    router: str | None
    router_threshold: float | None
    cost_strong_usd: float | None
    escalation: str | None = Field(
        None, description="a cascade that escalated: the signal found in the first answer"
    )
    escalated_from: str | None = Field(None, description="the model whose answer escalated")
    escalation_cost_usd: float | None = Field(
        None, description="what that first answer cost (included in cost_usd)"
    )
    shadow_of: str | None = Field(
        None,
        description="a shadow call (shadow judging, tagged `shadow`): the auto request it judges",
    )
    hedged_to: str | None = Field(
        None, description="deployments the request was also sent to (hedged), comma-separated"
    )
    hedge_trigger: str | None = Field(
        None, description="what sent the hedge: `deadline`, or an early hedge's `p95` / `250ms`"
    )
    error_type: str | None
    trace_id: str | None
    parent_request_id: str | None
    prompt_name: str | None
    prompt_version: int | None
    prompt_variant: str | None
    # On every row, not only the detail: the Guardrails page lists hits from log pages.
    guardrails: list[dict[str, Any]] = Field(
        description="guardrail checks that fired: stage, check, entity, action, count"
    )


class LogDetail(LogEntry):
    error_message: str | None
    tags: list[str]
    stage_timings: dict[str, Any] = Field(
        description="milliseconds spent in each pipeline stage (auth, limits, budget, cache, "
        "route, dispatch, settle), for drawing the request's waterfall"
    )


@router.get("", summary="Request log: filter by time, team, key, model, status, cache, route")
async def list_logs(
    caller: Viewer,
    session: Session,
    where: Filter,
    order: Order = "desc",
    limit: Limit = 50,
    after: After = None,
) -> ListOf[LogEntry]:
    started, row_id = RequestLog.started_at, RequestLog.id
    ordering = (started.desc(), row_id.desc()) if order == "desc" else (started, row_id)
    conditions = [*where.where(), *visible_to(caller)]
    query = select(RequestLog).where(*conditions).order_by(*ordering).limit(limit + 1)
    if after is not None:
        query = query.where(_beyond(_decode(after), order))
    rows = list((await session.scalars(query)).all())
    page, has_more = rows[:limit], len(rows) > limit
    data = [LogEntry.model_validate(row) for row in page]
    cursor = _encode(page[-1]) if has_more else None
    return ListOf[LogEntry](data=data, has_more=has_more, next_after=cursor)


@router.get("/{request_id}", summary="One request: its record, stage timings and trace id")
async def get_log(request_id: str, caller: Viewer, session: Session) -> LogDetail:
    row = await find_request(session, request_id)
    if row is None or not _visible(row, caller):
        raise GatewayError(404, f"No logged request with id '{request_id}'.", code="not_found")
    return LogDetail.model_validate(row)


def _visible(row: RequestLog, caller: Caller) -> bool:
    if caller.grant is not None:
        return True
    return row.key_id == caller.key_id or (
        caller.team_id is not None and row.team_id == caller.team_id
    )


def _encode(row: RequestLog) -> str:
    raw = f"{row.started_at.isoformat()}|{row.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        started, _, row_id = raw.partition("|")
        moment = datetime.fromisoformat(started)
        if moment.tzinfo is None:
            raise ValueError("naive time")
        number = int(row_id)
        if not 0 <= number <= INT64_MAX:
            raise ValueError("no such row id")
        return moment.astimezone(UTC), number
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError):
        raise bad_request("'after' is not a cursor this API handed out.", param="after") from None


def _beyond(cursor: tuple[datetime, int], order: str) -> ColumnElement[bool]:
    """Rows after the cursor in the page order: (start, id) past the last row's."""
    started, row_id = cursor
    if order == "desc":
        return or_(
            RequestLog.started_at < started,
            and_(RequestLog.started_at == started, RequestLog.id < row_id),
        )
    return or_(
        RequestLog.started_at > started,
        and_(RequestLog.started_at == started, RequestLog.id > row_id),
    )
