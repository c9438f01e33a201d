"""`GET /admin/audit`: the admin writes, newest first, filtered and paged (any admin role).

Entries are written by store.audit in the transaction of each write. Pages continue
below the last entry's id (`after`), so a page stays right while new entries arrive.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, Field
from sqlalchemy import ColumnElement, or_, select

from llm_proxy.api.admin.access import Readonly, Session
from llm_proxy.api.admin.crud import Limit, Output
from llm_proxy.store.models import AuditEntry

router = APIRouter(prefix="/admin/audit", tags=["Admin: audit"])


class AuditOut(Output):
    id: int
    at: datetime
    actor: str = Field(description='the admin token id, or "master"')
    role: str
    action: str = Field(description='the route, e.g. "POST /admin/keys/{key_id}/rotate"')
    target: str = Field(description='the first record changed, e.g. "virtual_keys/key_…"')
    request_id: str
    client: str | None = Field(description="the client's address")
    before: dict[str, Any] = Field(description="each changed record's fields before (null: new)")
    after: dict[str, Any] = Field(description="each changed record's fields after (null: gone)")


class AuditPage(Output):
    object: str = "list"
    data: list[AuditOut]
    has_more: bool
    next_after: int | None = Field(description="pass as `after` for the next (older) page")


@router.get("", summary="Admin writes, newest first: who, what, when, from where, before/after")
async def list_audit(
    _: Readonly,
    session: Session,
    limit: Limit = 50,
    after: Annotated[int | None, Query(description="entries older than this id")] = None,
    actor: Annotated[str | None, Query(description='admin token id or "master"')] = None,
    target: Annotated[
        str | None, Query(description='a record ("virtual_keys/key_…") or a table ("teams")')
    ] = None,
    action: Annotated[str | None, Query(description='e.g. "PUT /admin/config"')] = None,
    request_id: Annotated[str | None, Query()] = None,
    since: Annotated[AwareDatetime | None, Query()] = None,
    until: Annotated[AwareDatetime | None, Query()] = None,
) -> AuditPage:
    where: list[ColumnElement[bool]] = []
    if after is not None:
        where.append(AuditEntry.id < after)
    if actor is not None:
        where.append(AuditEntry.actor == actor)
    if target is not None:
        where.append(
            or_(
                AuditEntry.target == target,
                AuditEntry.target.startswith(target + "/", autoescape=True),
            )
        )
    if action is not None:
        where.append(AuditEntry.action == action)
    if request_id is not None:
        where.append(AuditEntry.request_id == request_id)
    if since is not None:
        where.append(AuditEntry.at >= since)
    if until is not None:
        where.append(AuditEntry.at < until)
    query = select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    data = [AuditOut.model_validate(row) for row in rows[:limit]]
    return AuditPage(data=data, has_more=more, next_after=data[-1].id if more else None)
