"""`/admin/teams` and `/admin/organizations`: who keys belong to, and their limits."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.api.admin.access import Admin, GatewayDep, Readonly, Session
from llm_proxy.api.admin.crud import (
    After,
    Input,
    Limit,
    ListOf,
    Output,
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
from llm_proxy.store.models import Budget, Organization, Team, new_id

router = APIRouter(prefix="/admin", tags=["Admin: teams"])


class OrganizationIn(Input):
    name: Name
    metadata: Metadata = {}


class OrganizationOut(Output):
    id: str
    name: str
    metadata: MetadataOut
    created_at: datetime


class TeamFields(LimitsIn):
    organization_id: Id | None = None
    budget_id: Id | None = None
    status: Literal["active", "disabled"] = "active"
    metadata: Metadata = {}


class TeamIn(TeamFields):
    name: Name


class TeamChange(TeamFields):
    """Only the fields sent change; send null to clear one."""

    name: Name | None = None


class TeamOut(LimitsOut):
    id: str
    name: str
    organization_id: str | None
    budget_id: str | None
    status: str
    metadata: MetadataOut
    created_at: datetime


@router.post("/organizations", status_code=201, summary="Create an organization")
async def create_organization(
    body: OrganizationIn, _: Admin, session: Session, gateway: GatewayDep
) -> OrganizationOut:
    organization = await add(session, gateway, Organization(id=new_id("org")), body.model_dump())
    return OrganizationOut.model_validate(organization)


@router.get("/organizations", summary="List organizations")
async def list_organizations(
    _: Readonly, session: Session, limit: Limit = 50, after: After = None
) -> ListOf[OrganizationOut]:
    return listing(await repository.page(session, Organization, limit, after), OrganizationOut)


@router.post("/teams", status_code=201, summary="Create a team")
async def create_team(body: TeamIn, _: Admin, session: Session, gateway: GatewayDep) -> TeamOut:
    fields = body.model_dump()
    await _check(session, fields)
    return TeamOut.model_validate(await add(session, gateway, Team(id=new_id("team")), fields))


@router.get("/teams", summary="List teams")
async def list_teams(
    _: Readonly, session: Session, limit: Limit = 50, after: After = None
) -> ListOf[TeamOut]:
    return listing(await repository.page(session, Team, limit, after), TeamOut)


@router.get("/teams/{team_id}", summary="One team")
async def get_team(team_id: str, _: Readonly, session: Session) -> TeamOut:
    return TeamOut.model_validate(await get_or_404(session, Team, team_id))


@router.patch("/teams/{team_id}", summary="Change a team's limits, budget, status or metadata")
async def change_team(
    team_id: str, body: TeamChange, _: Admin, session: Session, gateway: GatewayDep
) -> TeamOut:
    team = await get_or_404(session, Team, team_id)
    fields = body.model_dump(exclude_unset=True)
    await _check(session, fields)
    return TeamOut.model_validate(await change(session, gateway, team, fields))


@router.delete("/teams/{team_id}", status_code=204, summary="Delete a team no key or user uses")
async def delete_team(team_id: str, _: Admin, session: Session, gateway: GatewayDep) -> None:
    await remove(session, gateway, Team, team_id)


async def _check(session: AsyncSession, fields: dict[str, Any]) -> None:
    forbid_null(fields, "name", "status")
    await require_refs(
        session,
        {
            "organization_id": (Organization, fields.get("organization_id")),
            "budget_id": (Budget, fields.get("budget_id")),
        },
    )
