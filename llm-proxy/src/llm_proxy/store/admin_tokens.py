"""Admin tokens: credentials for `/admin/*` with a role, shown once, stored as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from llm_proxy.store.credentials import ADMIN_TOKEN_PREFIX, IssuedSecret, issue
from llm_proxy.store.grants import Role
from llm_proxy.store.models import AdminToken, new_id, utcnow


def create_admin_token(
    session: AsyncSession,
    name: str,
    role: Role,
    expires_at: datetime | None,
    team_id: str | None = None,
) -> tuple[AdminToken, IssuedSecret]:
    secret = issue(ADMIN_TOKEN_PREFIX)
    token = AdminToken(
        id=new_id("adm"),
        name=name,
        role=role,
        team_id=team_id,
        token_hash=secret.hash,
        token_prefix=secret.display_prefix,
        expires_at=expires_at,
    )
    session.add(token)
    return token, secret


def revoke_admin_token(token: AdminToken) -> None:
    if token.status != "revoked":
        token.status = "revoked"
        token.revoked_at = utcnow()
