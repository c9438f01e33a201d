"""`/admin/jwt/denied`: the deny-list of signed client tokens, by their `jti`, admin only.

A listed token is refused on every replica within a second of the write (the change
signal reloads each replica's in-memory list), however long it has left to live. Give
`expires_at` (the token's own `exp`) and the entry stops counting when the token would
have expired anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, Field
from sqlalchemy import select

from llm_proxy.api.admin.access import Admin, GatewayDep, Session
from llm_proxy.api.admin.crud import After, Input, Limit, ListOf, Output, commit
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.store.models import DeniedToken

router = APIRouter(prefix="/admin/jwt/denied", tags=["Admin: signed tokens"])

Jti = Annotated[str, Field(min_length=1, max_length=256)]


class DeniedIn(Input):
    jti: Jti
    reason: Annotated[str, Field(max_length=500)] | None = None
    expires_at: AwareDatetime | None = Field(
        None, description="the token's own expiry: the entry is dropped after it"
    )


class DeniedOut(Output):
    jti: str
    reason: str | None
    expires_at: datetime | None
    created_at: datetime


@router.post("", status_code=201, summary="Deny a signed token by its jti")
async def deny_token(body: DeniedIn, _: Admin, session: Session, gateway: GatewayDep) -> DeniedOut:
    row = DeniedToken(jti=body.jti, reason=body.reason, expires_at=body.expires_at)
    session.add(row)
    await commit(session, gateway)
    return DeniedOut.model_validate(row)


@router.get("", summary="List denied token ids")
async def list_denied(
    _: Admin, session: Session, limit: Limit = 50, after: After = None
) -> ListOf[DeniedOut]:
    query = select(DeniedToken).order_by(DeniedToken.jti).limit(limit + 1)
    if after is not None:
        query = query.where(DeniedToken.jti > after)
    rows = list((await session.scalars(query)).all())
    data = [DeniedOut.model_validate(row) for row in rows[:limit]]
    more = len(rows) > limit
    return ListOf[DeniedOut](data=data, has_more=more, next_after=data[-1].jti if more else None)


@router.delete("/{jti}", status_code=204, summary="Take a token id off the deny-list")
async def allow_token(jti: str, _: Admin, session: Session, gateway: GatewayDep) -> Response:
    row = await session.get(DeniedToken, jti)
    if row is None:
        raise GatewayError(404, f"No denied token with jti '{jti}'.", code="not_found")
    await session.delete(row)
    await commit(session, gateway)
    return Response(status_code=204)
