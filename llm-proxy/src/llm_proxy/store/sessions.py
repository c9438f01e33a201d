"""Dashboard sessions: a browser's login, kept server-side with an absolute expiry.

The browser holds only a random cookie secret; the table keeps its SHA-256, so a read of
the database yields no usable cookie. Each session carries a CSRF token that every
state-changing request made with the cookie must echo in a header. Ending a session
(logout) is permanent: the row stays, marked ended, and never matches again.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.credentials import hash_secret
from llm_proxy.store.grants import key_by_id
from llm_proxy.store.models import AdminToken, DashboardSession, new_id, utcnow

# A single sign-on login's subject: `sso:` and the principal's id (api/admin/sso.py).
SSO_SUBJECT = "sso:"


def open_session(
    session: AsyncSession,
    *,
    role: str,
    subject: str,
    ttl: timedelta,
    key_id: str | None = None,
    team_id: str | None = None,
) -> tuple[DashboardSession, str]:
    """A new session row and its cookie secret (returned once, never stored)."""
    cookie = secrets.token_urlsafe(32)
    row = DashboardSession(
        id=new_id("ses"),
        secret_hash=hash_secret(cookie),
        csrf_token=secrets.token_urlsafe(32),
        role=role,
        subject=subject,
        key_id=key_id,
        team_id=team_id,
        expires_at=utcnow() + ttl,
    )
    session.add(row)
    return row, cookie


async def live_session(session: AsyncSession, cookie: str) -> DashboardSession | None:
    """The session a cookie names, if it has neither ended nor expired."""
    query = select(DashboardSession).where(DashboardSession.secret_hash == hash_secret(cookie))
    row = (await session.scalars(query)).first()
    if row is None or row.ended_at is not None or _past(row.expires_at):
        return None
    return row


def end_session(row: DashboardSession) -> None:
    if row.ended_at is None:
        row.ended_at = utcnow()


def _past(moment: datetime) -> bool:
    return moment <= utcnow()


def master_subject(cookie: str, master_key: str) -> str:
    """Names the master key without storing anything that would help guess it.

    Salted with the cookie secret (which is not stored), so a read of the table gives no
    digest of the master key to brute-force; a changed master key ends these sessions.
    """
    return "master:" + hash_secret(f"{cookie}:{master_key}")


def is_master_session(row: DashboardSession) -> bool:
    return row.subject.startswith("master:")


async def still_grants(
    session: AsyncSession, row: DashboardSession, cookie: str, master_key: str
) -> bool:
    """Is what logged in still good: the same master key, an active token, a usable key?"""
    if is_master_session(row):
        return row.subject == master_subject(cookie, master_key)
    if row.subject.startswith(SSO_SUBJECT):
        return True  # the provider vouched at login; the session's own expiry bounds it
    if row.role == "key":
        grant = await key_by_id(session, row.subject)
        return grant is not None and grant.refusal is None and not _expired(grant.valid_until)
    token = await session.get(AdminToken, row.subject)
    return token is not None and token.status == "active" and not _expired(token.expires_at)


def _expired(moment: datetime | None) -> bool:
    return moment is not None and _past(moment)
