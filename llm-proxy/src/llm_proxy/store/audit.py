"""The audit log: every admin write, recorded in the same transaction as the write.

An admin write's session carries how to learn its `Actor` (`track`). When it commits,
every record it inserted, changed or deleted is captured (its fields before and after,
secret columns left out) and one `audit_log` row is added to the same commit: a write
that rolls back leaves no entry, and no write commits without one. Writes that touch no
table (clearing the cache, re-reading the config file) add their entry with `record`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from llm_proxy.store.models import AuditEntry, Base, ConfigVersion, RequestLog

# Columns that hold (a hash of) a secret: never copied into the log.
SECRET_COLUMNS = frozenset({"key_hash", "previous_hash", "token_hash", "ciphertext"})
_ACTOR = "audit_actor"
_CHANGES = "audit_changes"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is writing: an admin token id (or "master"), its role, the request, the route."""

    id: str
    role: str
    action: str
    request_id: str
    client: str | None


def track(session: AsyncSession, actor: Callable[[], Actor | None]) -> None:
    """Audit what `session` commits; `actor` is asked at commit time, when it is known."""
    session.sync_session.info[_ACTOR] = actor


def record(
    session: AsyncSession,
    actor: Actor,
    target: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    """An entry for a write that changed no table; committed with the session."""
    session.add(_entry(actor, {target: before}, {target: after}, target))


def _entry(actor: Actor, before: dict[str, Any], after: dict[str, Any], target: str) -> AuditEntry:
    return AuditEntry(
        actor=actor.id,
        role=actor.role,
        action=actor.action,
        target=target,
        request_id=actor.request_id,
        client=actor.client,
        before=before,
        after=after,
    )


@event.listens_for(Session, "after_flush")
def _capture(session: Session, _context: object) -> None:
    if _ACTOR not in session.info:
        return
    changes: list[tuple[str, Any, Any]] = session.info.setdefault(_CHANGES, [])
    for row in session.new:
        if isinstance(row, ConfigVersion):
            changes.append(_version_change(row))
        elif _audited(row):
            changes.append((_target(row), None, _fields(row, before=False)))
    for row in session.dirty:
        if _audited(row) and session.is_modified(row):
            changes.append((_target(row), _fields(row, before=True), _fields(row, before=False)))
    for row in session.deleted:
        if _audited(row):
            changes.append((_target(row), _fields(row, before=True), None))


@event.listens_for(Session, "before_commit")
def _write(session: Session) -> None:
    who = session.info.get(_ACTOR)
    if who is None:
        return
    session.flush()  # so that every change of this transaction has been captured
    changes = session.info.pop(_CHANGES, [])
    actor = who()
    if not changes or actor is None:
        return
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for target, old, new in changes:
        before.setdefault(target, old)
        after[target] = new
    session.add(_entry(actor, before, after, changes[0][0]))


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_CHANGES, None)


def _version_change(row: ConfigVersion) -> tuple[str, Any, Any]:
    """A new config version reads as the paths it changed, before and after."""
    before = {change["path"]: change["before"] for change in row.diff}
    after = {change["path"]: change["after"] for change in row.diff}
    previous = row.version - 1 or None
    return "config", {"version": previous, **before}, {"version": row.version, **after}


def _audited(row: object) -> bool:
    return isinstance(row, Base) and not isinstance(row, AuditEntry | RequestLog)


def _target(row: Base) -> str:
    if isinstance(row, ConfigVersion):
        return "config"
    identity = inspect(row).identity or (getattr(row, "id", None),)
    return f"{row.__tablename__}/{'/'.join(str(part) for part in identity)}"


def _fields(row: Base, *, before: bool) -> dict[str, Any]:
    state = inspect(row)
    fields: dict[str, Any] = {}
    for attribute in state.mapper.column_attrs:
        name = attribute.key
        if name in SECRET_COLUMNS:
            continue
        value = getattr(row, name)
        if before:
            history = state.attrs[name].history
            if history.deleted:
                value = history.deleted[0]
        fields[name.removesuffix("_")] = _plain(value)
    return fields


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
