"""`/admin/tokens`: admin tokens with a role (admin | developer | readonly), admin only.

A developer token belongs to one team (`team_id`, required for that role and refused for
the others): the keys it may manage are that team's.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, Field, field_validator

from llm_proxy.api.admin.access import Admin, GatewayDep, Session
from llm_proxy.api.admin.crud import (
    After,
    Input,
    Limit,
    ListOf,
    Output,
    commit,
    get_or_404,
    listing,
    require_refs,
)
from llm_proxy.api.admin.schemas import Id, Name
from llm_proxy.pipeline.errors import bad_request
from llm_proxy.store import repository
from llm_proxy.store.admin_tokens import create_admin_token, revoke_admin_token
from llm_proxy.store.grants import Role
from llm_proxy.store.models import AdminToken, Team

router = APIRouter(prefix="/admin/tokens", tags=["Admin: tokens"])


class TokenIn(Input):
    name: Name
    role: Role
    team_id: Id | None = Field(None, description="a developer token's team (required for it)")
    expires_at: AwareDatetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _in_the_future(cls, value: datetime | None) -> datetime | None:
        if value is not None and value <= datetime.now(UTC):
            raise ValueError("is in the past")
        return value


class TokenOut(Output):
    id: str
    name: str
    role: str
    team_id: str | None
    token_prefix: str
    expires_at: datetime | None
    status: str
    created_at: datetime
    revoked_at: datetime | None


class TokenIssued(TokenOut):
    token: str = Field(description="the secret: shown once, store it now")


@router.post("", status_code=201, summary="Issue an admin token (its secret is shown once)")
async def issue_token(
    body: TokenIn, _: Admin, session: Session, gateway: GatewayDep
) -> TokenIssued:
    if (body.role == "developer") != (body.team_id is not None):
        raise bad_request(
            "A developer token needs a 'team_id' (the team whose keys it manages); "
            "other roles take none.",
            param="team_id",
        )
    await require_refs(session, {"team_id": (Team, body.team_id)})
    token, secret = create_admin_token(session, body.name, body.role, body.expires_at, body.team_id)
    await commit(session, gateway)
    return TokenIssued(**TokenOut.model_validate(token).model_dump(), token=secret.plaintext)


@router.get("", summary="List admin tokens")
async def list_tokens(
    _: Admin, session: Session, limit: Limit = 50, after: After = None
) -> ListOf[TokenOut]:
    return listing(await repository.page(session, AdminToken, limit, after), TokenOut)


@router.post("/{token_id}/revoke", summary="Revoke an admin token")
async def revoke_token(token_id: str, _: Admin, session: Session, gateway: GatewayDep) -> TokenOut:
    token = await get_or_404(session, AdminToken, token_id)
    revoke_admin_token(token)
    await commit(session, gateway)
    return TokenOut.model_validate(token)
