"""`/admin/session`: the dashboard's login. A token in, an httpOnly cookie out.

`POST {token}` takes the master key, an admin token (`sk-gwadmin-…`) or a virtual key
(`sk-gw-…`) and opens a server-side session (see `store/sessions.py`): the answer sets
an httpOnly, SameSite=Strict cookie (Secure under TLS) scoped to `/admin`, and carries
the session's CSRF token, which the dashboard sends back in `x-csrf-token` on every
change. `GET` tells the dashboard who it is (role, CSRF token); `DELETE` logs out;
`GET /methods` tells the login page whether single sign-on is offered.
The token itself is never stored or echoed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.admin.access import SESSION_COOKIE, caller_of, gateway_of, session_of
from llm_proxy.api.admin.crud import Input
from llm_proxy.gateway import Gateway
from llm_proxy.oidc.verifier import looks_like_jwt
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify, identify_admin, is_master
from llm_proxy.store.credentials import ADMIN_TOKEN_PREFIX
from llm_proxy.store.models import DashboardSession
from llm_proxy.store.sessions import end_session, master_subject, open_session

router = APIRouter(prefix="/admin/session", tags=["Admin: session"])

_COOKIE_PATH = "/admin"
# The single sign-on's first step (api/admin/sso.py), where the login page's button goes.
SSO_START = "/admin/session/oidc/start"


class Login(Input):
    token: Annotated[str, Field(min_length=1, max_length=512)] = Field(
        description="the master key, an admin token or a virtual key"
    )


class SessionOut(BaseModel):
    role: Literal["admin", "developer", "readonly", "key"] = Field(
        description="`key`: a virtual key's session, which reads only its own and its "
        "team's usage and logs"
    )
    key_id: str | None
    team_id: str | None
    csrf_token: str = Field(description="send it in `x-csrf-token` with every change")
    expires_at: datetime


@router.post("", summary="Log in: exchange a token for a session cookie")
async def log_in(body: Login, request: Request, response: Response) -> SessionOut:
    gateway = gateway_of(request)
    row, cookie = await _open(gateway, body.token)
    set_session_cookie(request, response, cookie)
    return _out(row)


def set_session_cookie(request: Request, response: Response, cookie: str) -> None:
    """The session's cookie, as every way of logging in (token, single sign-on) sets it."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        max_age=int(gateway_of(request).config.auth.session_ttl_s),
        path=_COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


class SingleSignOn(BaseModel):
    label: str = Field(description="the login page's button")
    start: str = Field(description="where the button sends the browser")


class LoginMethods(BaseModel):
    sso: SingleSignOn | None = Field(description="null: single sign-on is not configured")


@router.get("/methods", summary="How one may log in here (for the login page; no credentials)")
async def login_methods(request: Request) -> LoginMethods:
    sso = gateway_of(request).config.auth.sso
    if sso is None:
        return LoginMethods(sso=None)
    return LoginMethods(sso=SingleSignOn(label=sso.button_label, start=SSO_START))


@router.get("", summary="The current session: role and CSRF token")
async def current_session(request: Request) -> SessionOut:
    return _out(await _required(request))


@router.delete("", status_code=204, summary="Log out: end the session and drop its cookie")
async def log_out(request: Request) -> Response:
    await caller_of(request)  # a change: the cookie's CSRF token must come with it
    row = await _required(request)
    async with gateway_of(request).database.session() as session:
        stored = await session.get(DashboardSession, row.id)
        if stored is not None:
            end_session(stored)
            await session.commit()
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path=_COOKIE_PATH, httponly=True, samesite="strict")
    return response


async def _open(gateway: Gateway, token: str) -> tuple[DashboardSession, str]:
    headers = {"authorization": f"Bearer {token}"}
    ttl = timedelta(seconds=gateway.config.auth.session_ttl_s)
    async with gateway.database.session() as session:
        if is_master(token, gateway.master_key):
            row, cookie = open_session(session, role="admin", subject="", ttl=ttl)
            row.subject = master_subject(cookie, gateway.master_key)
        elif token.startswith(ADMIN_TOKEN_PREFIX):
            grant = await identify_admin(headers, gateway.master_key, gateway.directory)
            row, cookie = open_session(
                session, role=grant.role, subject=grant.token_id, ttl=ttl, team_id=grant.team_id
            )
        elif looks_like_jwt(token):
            # Its session would have nothing to re-check the token against (still_grants).
            raise GatewayError(
                400,
                "A signed token (JWT) cannot open a dashboard session; log in with the "
                "master key, an admin token or a virtual key.",
                param="token",
                code="unsupported_token",
            )
        else:
            identity = await identify(headers, gateway.master_key, gateway.directory)
            assert identity.key_id is not None  # the master key was handled above
            row, cookie = open_session(
                session,
                role="key",
                subject=identity.key_id,
                ttl=ttl,
                key_id=identity.key_id,
                team_id=identity.team_id,
            )
        await session.commit()
        return row, cookie


async def _required(request: Request) -> DashboardSession:
    cookie = request.cookies.get(SESSION_COOKIE)
    row = await session_of(request, cookie) if cookie else None
    if row is None:
        raise GatewayError(401, "No dashboard session; log in first.", code="no_session")
    return row


def _out(row: DashboardSession) -> SessionOut:
    role = row.role if row.role in ("admin", "developer", "readonly") else "key"
    return SessionOut(
        role=role,
        key_id=row.key_id,
        team_id=row.team_id,
        csrf_token=row.csrf_token,
        expires_at=row.expires_at,
    )
