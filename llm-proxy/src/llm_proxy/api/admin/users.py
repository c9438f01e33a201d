"""`/admin/users`: people who own keys, with limits and a budget of their own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.api.admin.access import Admin, GatewayDep, Readonly, Session
from llm_proxy.api.admin.crud import (
    After,
    Limit,
    ListOf,
    add,
    change,
    forbid_null,
    get_or_404,
    listing,
    remove,
    require_refs,
)
from llm_proxy.api.admin.schemas import Id, LimitsIn, LimitsOut, Metadata, MetadataOut, Name
from llm_proxy.store import repository
from llm_proxy.store.models import Budget, Team, User, new_id

router = APIRouter(prefix="/admin/users", tags=["Admin: users"])

Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class UserFields(LimitsIn):
    name: Name | None = None
    team_id: Id | None = None
    budget_id: Id | None = None
    status: Literal["active", "disabled"] = "active"
    metadata: Metadata = {}


class UserIn(UserFields):
    email: Email


class UserChange(UserFields):
    """Only the fields sent change; send null to clear one."""

    email: Email | None = None


class UserOut(LimitsOut):
    id: str
    email: str
    name: str | None
    team_id: str | None
    budget_id: str | None
    status: str
    metadata: MetadataOut
    created_at: datetime


@router.post("", status_code=201, summary="Create a user")
async def create_user(body: UserIn, _: Admin, session: Session, gateway: GatewayDep) -> UserOut:
    fields = body.model_dump()
    await _check(session, fields)
    return UserOut.model_validate(await add(session, gateway, User(id=new_id("user")), fields))


@router.get("", summary="List users")
async def list_users(
    _: Readonly,
    session: Session,
    limit: Limit = 50,
    after: After = None,
    team_id: Annotated[str | None, Query()] = None,
) -> ListOf[UserOut]:
    where = [User.team_id == team_id] if team_id is not None else []
    return listing(await repository.page(session, User, limit, after, where), UserOut)


@router.get("/{user_id}", summary="One user")
async def get_user(user_id: str, _: Readonly, session: Session) -> UserOut:
    return UserOut.model_validate(await get_or_404(session, User, user_id))


@router.patch("/{user_id}", summary="Change a user's team, limits, budget, status or metadata")
async def change_user(
    user_id: str, body: UserChange, _: Admin, session: Session, gateway: GatewayDep
) -> UserOut:
    user = await get_or_404(session, User, user_id)
    fields = body.model_dump(exclude_unset=True)
    await _check(session, fields)
    return UserOut.model_validate(await change(session, gateway, user, fields))


@router.delete("/{user_id}", status_code=204, summary="Delete a user who owns no key")
async def delete_user(user_id: str, _: Admin, session: Session, gateway: GatewayDep) -> None:
    await remove(session, gateway, User, user_id)


async def _check(session: AsyncSession, fields: dict[str, Any]) -> None:
    forbid_null(fields, "email", "status")
    await require_refs(
        session,
        {"team_id": (Team, fields.get("team_id")), "budget_id": (Budget, fields.get("budget_id"))},
    )
