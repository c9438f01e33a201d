"""`/admin/keys`: issue, list, change, rotate and revoke virtual keys (`sk-gw-…`).

A key's secret is in the answer to its creation or rotation, and nowhere else, ever.

What a developer token may do (admins and the master key may do all of it, readonly
tokens only read): issue keys in its own team, and change (name, metadata, expiry,
default model), rotate and revoke that team's keys, with a rotation grace no longer than
`auth.rotation_grace_s`. What bounds spending is an admin's: a key's owner (team, user),
budget, rate limits, allowed models and output cap; a developer may neither set nor clear
them, so it cannot move a key out of its team's bounds or lift the ones an admin set.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, Field
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.api.admin.access import (
    Developer,
    GatewayDep,
    Readonly,
    Session,
    insufficient_role,
)
from llm_proxy.api.admin.crud import (
    After,
    Input,
    Limit,
    ListOf,
    commit,
    get_or_404,
    listing,
    require_models,
    require_refs,
)
from llm_proxy.api.admin.schemas import Count, Id, LimitsIn, LimitsOut, Metadata, MetadataOut
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import bad_request
from llm_proxy.store import repository
from llm_proxy.store.credentials import IssuedSecret
from llm_proxy.store.grants import AdminGrant
from llm_proxy.store.keys import create_key, revoke_key, rotate_key
from llm_proxy.store.models import Budget, Team, User, VirtualKey

router = APIRouter(prefix="/admin/keys", tags=["Admin: keys"])


class KeyFields(LimitsIn):
    name: Annotated[str, Field(max_length=200)] | None = None
    team_id: Id | None = None
    user_id: Id | None = None
    budget_id: Id | None = None
    allowed_models: Annotated[list[str], Field(max_length=200)] = []
    default_model: str | None = None
    max_tokens_cap: Count | None = None
    expires_at: AwareDatetime | None = None
    metadata: Metadata = {}


class KeyChange(KeyFields):
    """Only the fields sent change; send null to clear one."""

    status: Literal["active"] | None = None


class KeyOut(LimitsOut):
    id: str
    name: str | None
    key_prefix: str
    team_id: str | None
    user_id: str | None
    budget_id: str | None
    allowed_models: list[str]
    default_model: str | None
    max_tokens_cap: int | None
    expires_at: datetime | None
    status: str
    metadata: MetadataOut
    created_at: datetime
    rotated_at: datetime | None
    revoked_at: datetime | None
    previous_expires_at: datetime | None = Field(
        description="until when the secret replaced by the last rotation still works"
    )


class KeyIssued(KeyOut):
    key: str = Field(description="the secret: shown once, store it now")


class Rotation(Input):
    grace_s: Annotated[float, Field(ge=0, le=30 * 86400)] | None = Field(
        None, description="how long the old secret keeps working (default: auth.rotation_grace_s)"
    )


@router.post("", status_code=201, summary="Issue a virtual key (its secret is shown once)")
async def issue_key(
    body: KeyFields, caller: Developer, session: Session, gateway: GatewayDep
) -> KeyIssued:
    fields = body.model_dump()
    if caller.role == "developer":
        _developer_may_set(body.model_fields_set - {"team_id"})
        if body.team_id not in (None, caller.team_id):
            raise insufficient_role("A developer token issues keys in its own team only.")
        fields["team_id"] = _developer_team(caller)
    await _validate(session, gateway, fields)
    key, secret = create_key(session, fields)
    await commit(session, gateway)
    return _issued(key, secret)


@router.get("", summary="List virtual keys")
async def list_keys(
    _: Readonly,
    session: Session,
    limit: Limit = 50,
    after: After = None,
    team_id: Annotated[str | None, Query()] = None,
    user_id: Annotated[str | None, Query()] = None,
    status: Annotated[Literal["active", "revoked"] | None, Query()] = None,
) -> ListOf[KeyOut]:
    where = [
        column == value
        for column, value in (
            (VirtualKey.team_id, team_id),
            (VirtualKey.user_id, user_id),
            (VirtualKey.status, status),
        )
        if value is not None
    ]
    page = await repository.page(session, VirtualKey, limit, after, where)
    return listing(page, KeyOut)


@router.get("/{key_id}", summary="One virtual key")
async def get_key(key_id: str, _: Readonly, session: Session) -> KeyOut:
    return KeyOut.model_validate(await get_or_404(session, VirtualKey, key_id))


@router.patch("/{key_id}", summary="Change a key's owner, models, limits, expiry or metadata")
async def change_key(
    key_id: str, body: KeyChange, caller: Developer, session: Session, gateway: GatewayDep
) -> KeyOut:
    key = await get_or_404(session, VirtualKey, key_id)
    fields = body.model_dump(exclude_unset=True)
    if caller.role == "developer":
        _developer_owns(caller, key)
        _developer_may_set(set(fields))
    if key.status == "revoked" and fields:
        raise bad_request("This key is revoked; issue a new one instead.")
    await _validate(session, gateway, fields, key)
    fields.pop("status", None)
    repository.assign(key, fields)
    await commit(session, gateway)
    return KeyOut.model_validate(key)


@router.post(
    "/{key_id}/rotate", summary="A new secret for the key; the old one lasts a grace period"
)
async def rotate(
    key_id: str,
    caller: Developer,
    session: Session,
    gateway: GatewayDep,
    body: Rotation | None = None,
) -> KeyIssued:
    key = await get_or_404(session, VirtualKey, key_id)
    if caller.role == "developer":
        _developer_owns(caller, key)
    if key.status == "revoked":
        raise bad_request("This key is revoked; issue a new one instead.")
    default_s = gateway.config.auth.rotation_grace_s
    grace_s = body.grace_s if body and body.grace_s is not None else None
    if caller.role == "developer" and grace_s is not None and grace_s > default_s:
        raise insufficient_role(
            f"A developer token may give a rotated secret at most {default_s:g} s of grace "
            "(auth.rotation_grace_s); longer needs the admin role."
        )
    grace = timedelta(seconds=default_s if grace_s is None else grace_s)
    secret = rotate_key(key, grace)
    await commit(session, gateway)
    return _issued(key, secret)


@router.post("/{key_id}/revoke", summary="Revoke a key: refused on every replica within a second")
async def revoke(key_id: str, caller: Developer, session: Session, gateway: GatewayDep) -> KeyOut:
    key = await get_or_404(session, VirtualKey, key_id)
    if caller.role == "developer":
        _developer_owns(caller, key)
    revoke_key(key)
    await commit(session, gateway)
    return KeyOut.model_validate(key)


# A key's fields that bound spending: an admin's to set, never a developer's.
_ADMIN_ONLY = frozenset(
    {
        "team_id",
        "user_id",
        "budget_id",
        "allowed_models",
        "max_tokens_cap",
        "rpm",
        "tpm",
        "input_tpm",
        "output_tpm",
        "tpd",
    }
)


def _developer_team(caller: AdminGrant) -> str:
    if caller.team_id is None:
        raise insufficient_role(
            "This developer token belongs to no team, so it manages no key; "
            "an admin can issue one with a team_id."
        )
    return caller.team_id


def _developer_owns(caller: AdminGrant, key: VirtualKey) -> None:
    if key.team_id is None or key.team_id != _developer_team(caller):
        raise insufficient_role("A developer token manages its own team's keys only.")


def _developer_may_set(fields: set[str]) -> None:
    refused = sorted(fields & _ADMIN_ONLY)
    if refused:
        raise insufficient_role(
            f"A developer token may not set {', '.join(refused)}: a key's owner, budget, "
            "limits, models and output cap are the admin role's."
        )


def _issued(key: VirtualKey, secret: IssuedSecret) -> KeyIssued:
    return KeyIssued(**KeyOut.model_validate(key).model_dump(), key=secret.plaintext)


async def _validate(
    session: AsyncSession, gateway: Gateway, fields: dict[str, Any], key: VirtualKey | None = None
) -> None:
    await require_refs(
        session,
        {
            "team_id": (Team, fields.get("team_id")),
            "user_id": (User, fields.get("user_id")),
            "budget_id": (Budget, fields.get("budget_id")),
        },
    )
    allowed = fields.get("allowed_models", key.allowed_models if key else [])
    default = fields.get("default_model", key.default_model if key else None)
    require_models(gateway, "allowed_models", list(allowed or []))
    require_models(gateway, "default_model", [default])
    if default is not None and allowed and default not in allowed:
        raise bad_request("'default_model' must be one of 'allowed_models'.", param="default_model")
    expires_at = fields.get("expires_at")
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise bad_request("'expires_at' is in the past.", param="expires_at")
