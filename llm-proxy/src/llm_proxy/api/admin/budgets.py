"""`/admin/budgets`: USD and token caps per day and month, alerts, and a cheaper fallback.

A budget is shared by whatever points at it (keys, teams, users); each of those is
counted on its own against it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field

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
    require_models,
)
from llm_proxy.api.admin.schemas import BigCount, Name
from llm_proxy.gateway import Gateway
from llm_proxy.store import repository
from llm_proxy.store.models import Budget, new_id

router = APIRouter(prefix="/admin/budgets", tags=["Admin: budgets"])

# A billion dollars a day is no cap at all; past it a number is a mistake (or an attack).
Usd = Annotated[float, Field(ge=0, le=1e9)]
Threshold = Annotated[float, Field(gt=0, le=1)]


class BudgetFields(Input):
    usd_daily: Usd | None = None
    usd_monthly: Usd | None = None
    tokens_daily: BigCount | None = None
    tokens_monthly: BigCount | None = None
    alert_thresholds: Annotated[list[Threshold], Field(max_length=10)] = [0.8, 1.0]
    auto_downgrade_to: str | None = Field(
        None, description="over budget, answer with this (cheaper) model instead of 429"
    )


class BudgetIn(BudgetFields):
    name: Name


class BudgetChange(BudgetFields):
    """Only the fields sent change; send null to clear one."""

    name: Name | None = None


class BudgetOut(Output):
    id: str
    name: str
    usd_daily: float | None
    usd_monthly: float | None
    tokens_daily: int | None
    tokens_monthly: int | None
    alert_thresholds: list[float]
    auto_downgrade_to: str | None
    created_at: datetime


@router.post("", status_code=201, summary="Create a budget")
async def create_budget(
    body: BudgetIn, _: Admin, session: Session, gateway: GatewayDep
) -> BudgetOut:
    fields = body.model_dump()
    _check(gateway, fields)
    return BudgetOut.model_validate(await add(session, gateway, Budget(id=new_id("bud")), fields))


@router.get("", summary="List budgets")
async def list_budgets(
    _: Readonly, session: Session, limit: Limit = 50, after: After = None
) -> ListOf[BudgetOut]:
    return listing(await repository.page(session, Budget, limit, after), BudgetOut)


@router.get("/{budget_id}", summary="One budget")
async def get_budget(budget_id: str, _: Readonly, session: Session) -> BudgetOut:
    return BudgetOut.model_validate(await get_or_404(session, Budget, budget_id))


@router.patch("/{budget_id}", summary="Change a budget's caps, alerts or downgrade model")
async def change_budget(
    budget_id: str, body: BudgetChange, _: Admin, session: Session, gateway: GatewayDep
) -> BudgetOut:
    budget = await get_or_404(session, Budget, budget_id)
    fields = body.model_dump(exclude_unset=True)
    _check(gateway, fields)
    return BudgetOut.model_validate(await change(session, gateway, budget, fields))


@router.delete("/{budget_id}", status_code=204, summary="Delete a budget nothing points at")
async def delete_budget(budget_id: str, _: Admin, session: Session, gateway: GatewayDep) -> None:
    await remove(session, gateway, Budget, budget_id)


def _check(gateway: Gateway, fields: dict[str, Any]) -> None:
    forbid_null(fields, "name", "alert_thresholds")
    require_models(gateway, "auto_downgrade_to", [fields.get("auto_downgrade_to")])
