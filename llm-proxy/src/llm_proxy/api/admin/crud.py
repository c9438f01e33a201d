"""What every admin resource shares: page parameters and envelope, lookups, safe commits."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.store.models import Entity
from llm_proxy.store.repository import Page, assign

M = TypeVar("M", bound=Entity)
Out = TypeVar("Out", bound=BaseModel)

Limit = Annotated[int, Query(ge=1, le=200, description="rows per page")]
After = Annotated[str | None, Query(description="the `next_after` of the previous page")]


class Input(BaseModel):
    """Request bodies: unknown fields are an error, not silently dropped; no number is
    infinite or NaN (JSON has no such numbers, Python's parser takes them anyway)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)


class ListOf(BaseModel, Generic[Out]):
    object: str = "list"
    data: list[Out]
    has_more: bool
    next_after: str | None


def listing(page: Page[M], out: type[Out]) -> ListOf[Out]:
    data = [out.model_validate(row) for row in page.rows]
    return ListOf[out](data=data, has_more=page.has_more, next_after=page.next_after)  # type: ignore[valid-type]


async def get_or_404(session: AsyncSession, model: type[M], row_id: str) -> M:
    row = await session.get(model, row_id)
    if row is None:
        noun = model.__tablename__.rstrip("s").replace("_", " ")
        raise GatewayError(404, f"No {noun} with id '{row_id}'.", code="not_found")
    return row


async def require_refs(session: AsyncSession, refs: dict[str, tuple[type[Entity], Any]]) -> None:
    """Each named id (if given) must exist: a clear 400 instead of a foreign-key error."""
    for field, (model, row_id) in refs.items():
        if row_id is not None and await session.get(model, row_id) is None:
            raise bad_request(f"'{field}': no such id '{row_id}'.", param=field)


def forbid_null(fields: dict[str, Any], *names: str) -> None:
    """A change may leave these fields out, but may not clear them."""
    for name in names:
        if name in fields and fields[name] is None:
            raise bad_request(f"'{name}' cannot be null.", param=name)


def require_models(gateway: Gateway, field: str, names: list[str | None]) -> None:
    known = set(gateway.registry.models()) | set(gateway.config.routing.auto_groups)
    for name in names:
        if name is not None and name not in known:
            raise bad_request(f"'{field}': the gateway serves no model '{name}'.", param=field)


async def add(session: AsyncSession, gateway: Gateway, row: M, fields: dict[str, Any]) -> M:
    assign(row, fields)
    session.add(row)
    await commit(session, gateway)
    return row


async def change(session: AsyncSession, gateway: Gateway, row: M, fields: dict[str, Any]) -> M:
    assign(row, fields)
    await commit(session, gateway)
    return row


async def remove(session: AsyncSession, gateway: Gateway, model: type[M], row_id: str) -> None:
    await session.delete(await get_or_404(session, model, row_id))
    await commit(session, gateway)


async def commit(session: AsyncSession, gateway: Gateway) -> None:
    """Commit, or roll everything back and answer 409; then tell every replica."""
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        raise GatewayError(409, _conflict(exc), code="conflict") from None
    await gateway.directory.changed()


def _conflict(exc: IntegrityError) -> str:
    text = str(exc.orig).lower()
    if "unique" in text or "duplicate" in text:
        return "A record with that name already exists."
    if "foreign key" in text:
        return "Other records still refer to this one; remove or move them first."
    return "The change conflicts with existing records."
