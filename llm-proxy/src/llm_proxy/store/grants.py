"""What a credential grants: a virtual key's identity and limits, an admin token's role.

Loaded from the database on a cache miss (see `directory`), then served from memory.
A key's grant carries its scopes — its own limits and budget, its team's and its user's —
so the limits and budget stages never have to ask the database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.identity import Identity, ScopeLimits
from llm_proxy.store.models import (
    AdminToken,
    Budget,
    DeniedToken,
    Team,
    User,
    VirtualKey,
    utcnow,
)

Role = Literal["admin", "developer", "readonly"]
ROLES: tuple[Role, ...] = ("admin", "developer", "readonly")
M = TypeVar("M", Team, User)


@dataclass(frozen=True, slots=True)
class KeyGrant:
    identity: Identity
    # Wall-clock end of validity (expiry, or the end of a rotation's grace period).
    valid_until: datetime | None
    # Why the key may not be used at all (revoked, team disabled), if it may not.
    refusal: str | None = None
    # Behind Kong (`key_by_id`): the digest of the key's rotated-out secret (from which
    # the id Kong sends for it is derived), and the end of that secret's grace period.
    previous_hash: str | None = None
    previous_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class AdminGrant:
    token_id: str
    role: Role
    valid_until: datetime | None
    refusal: str | None = None
    # Developer tokens: the team whose keys they manage.
    team_id: str | None = None


@dataclass(frozen=True, slots=True)
class TeamGrant:
    """What a signed token's team and user claims resolve to: the records' ids and limits.

    The token itself carries the rest (subject, models, roles); see `oidc.verifier`.
    """

    team_id: str | None
    user_id: str | None
    scopes: tuple[ScopeLimits, ...]
    optimizer_approaches: tuple[tuple[str, ...], ...] = ()
    refusal: str | None = None


# The master key, as an admin caller: every power, no team.
MASTER_ADMIN = AdminGrant("master", "admin", None)


async def key_by_hash(session: AsyncSession, key_hash: str) -> KeyGrant | None:
    query = select(VirtualKey).where(
        or_(VirtualKey.key_hash == key_hash, VirtualKey.previous_hash == key_hash)
    )
    key = (await session.scalars(query)).first()
    if key is None:
        return None
    valid_until = key.expires_at
    if key.key_hash != key_hash and key.status == "active":
        # The replaced secret of a rotated key: good only until its grace period ends.
        grace_end = key.previous_expires_at
        if grace_end is None or grace_end <= utcnow():
            return None
        valid_until = grace_end if valid_until is None else min(valid_until, grace_end)
    return await _grant(session, key, valid_until)


async def key_by_id(session: AsyncSession, key_id: str) -> KeyGrant | None:
    """For callers Kong already authenticated: it names the key (its consumer) by id."""
    key = await session.get(VirtualKey, key_id)
    if key is None:
        return None
    grant = await _grant(session, key, key.expires_at)
    if key.previous_hash is None:
        return grant
    return replace(grant, previous_hash=key.previous_hash, previous_until=key.previous_expires_at)


async def admin_token_by_hash(session: AsyncSession, token_hash: str) -> AdminGrant | None:
    token = (
        await session.scalars(select(AdminToken).where(AdminToken.token_hash == token_hash))
    ).first()
    if token is None or token.role not in ROLES:
        return None
    refusal = "This admin token has been revoked." if token.status != "active" else None
    return AdminGrant(token.id, token.role, token.expires_at, refusal, token.team_id)


async def team_grant(
    session: AsyncSession, team_ref: str | None, user_ref: str | None
) -> TeamGrant:
    """A token's claimed team (by id or name) and user (by id or email), with their limits.

    An unknown team is refused: its budget could not be charged. An unknown user is not:
    the token's subject is then the finest scope its spend is counted under.
    """
    team = await _find(session, Team, Team.name, team_ref) if team_ref else None
    if team_ref and team is None:
        return TeamGrant(None, None, (), refusal=f"The team '{team_ref}' is not known.")
    user = await _find(session, User, User.email, user_ref) if user_ref else None
    budget_ids = {b for b in (_budget(team), _budget(user)) if b}
    budgets: dict[str, Budget] = {}
    if budget_ids:
        rows = await session.scalars(select(Budget).where(Budget.id.in_(budget_ids)))
        budgets = {b.id: b for b in rows}
    scopes = []
    if team is not None:
        scopes.append(_scope("team", team, budgets.get(team.budget_id or "")))
    if user is not None:
        scopes.append(_scope("user", user, budgets.get(user.budget_id or "")))
    refusal = None
    if team is not None and team.status != "active":
        refusal = f"The team '{team_ref}' is disabled."
    elif user is not None and user.status != "active":
        refusal = f"The user '{user_ref}' is disabled."
    approaches = _approaches(team)
    return TeamGrant(
        team.id if team else None,
        user.id if user else None,
        tuple(scopes),
        (approaches,) if approaches is not None else (),
        refusal,
    )


async def denied_jtis(session: AsyncSession) -> frozenset[str]:
    """Token ids on the deny-list whose tokens may still be unexpired."""
    query = select(DeniedToken.jti).where(
        or_(DeniedToken.expires_at.is_(None), DeniedToken.expires_at > utcnow())
    )
    return frozenset(await session.scalars(query))


async def _find(session: AsyncSession, model: type[M], alternate: Any, ref: str) -> M | None:
    """A record by its id, else by its other unique name (a team's name, a user's email)."""
    row = await session.get(model, ref)
    if row is not None:
        return row
    return (await session.scalars(select(model).where(alternate == ref))).first()


async def _grant(session: AsyncSession, key: VirtualKey, valid_until: datetime | None) -> KeyGrant:
    team = await session.get(Team, key.team_id) if key.team_id else None
    user = await session.get(User, key.user_id) if key.user_id else None
    budget_ids = {b for b in (key.budget_id, _budget(team), _budget(user)) if b}
    budgets: dict[str, Budget] = {}
    if budget_ids:
        rows = await session.scalars(select(Budget).where(Budget.id.in_(budget_ids)))
        budgets = {b.id: b for b in rows}
    scopes = [_scope("key", key, budgets.get(key.budget_id or ""))]
    if team is not None:
        scopes.append(_scope("team", team, budgets.get(team.budget_id or "")))
    if user is not None:
        scopes.append(_scope("user", user, budgets.get(user.budget_id or "")))
    identity = Identity(
        key_id=key.id,
        key_prefix=key.key_prefix,
        team_id=key.team_id,
        user_id=key.user_id,
        allowed_models=tuple(key.allowed_models or ()),
        default_model=key.default_model,
        max_tokens_cap=key.max_tokens_cap,
        scopes=tuple(scopes),
        optimizer_approaches=tuple(
            listed for listed in (_approaches(key), _approaches(team)) if listed is not None
        ),
    )
    return KeyGrant(identity, valid_until, _refusal(key, team, user))


def _approaches(owner: VirtualKey | Team | None) -> tuple[str, ...] | None:
    """metadata `optimizer_approaches`: the approaches the owner's requests may use."""
    listed = (owner.metadata_ or {}).get("optimizer_approaches") if owner is not None else None
    if not isinstance(listed, list):
        return None
    return tuple(str(name) for name in listed)


def _budget(owner: Team | User | None) -> str | None:
    return owner.budget_id if owner is not None else None


def _refusal(key: VirtualKey, team: Team | None, user: User | None) -> str | None:
    if key.status != "active":
        return "This API key has been revoked."
    if team is not None and team.status != "active":
        return "This API key's team is disabled."
    if user is not None and user.status != "active":
        return "This API key's user is disabled."
    return None


def _scope(
    kind: Literal["key", "team", "user"], owner: VirtualKey | Team | User, budget: Budget | None
) -> ScopeLimits:
    return ScopeLimits(
        scope=kind,
        id=owner.id,
        rpm=owner.rpm,
        tpm=owner.tpm,
        input_tpm=owner.input_tpm,
        output_tpm=owner.output_tpm,
        tpd=owner.tpd,
        budget_usd_daily=budget.usd_daily if budget else None,
        budget_usd_monthly=budget.usd_monthly if budget else None,
        budget_tokens_daily=budget.tokens_daily if budget else None,
        budget_tokens_monthly=budget.tokens_monthly if budget else None,
        alert_thresholds=tuple(budget.alert_thresholds) if budget else (0.8, 1.0),
        auto_downgrade_to=budget.auto_downgrade_to if budget else None,
    )
