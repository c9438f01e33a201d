"""`/admin/session/oidc/*`: the dashboard's single sign-on (OIDC authorization code + PKCE).

`GET start` sends the browser to the identity provider (`auth.sso`); the provider sends it
back to `GET callback`, which verifies the login (oidc.login), maps the ID token's roles
to the gateway's (admin | developer | readonly, the highest wins; a developer needs a
team), and opens the same cookie session as a token login (`/admin/session`), then sends
the browser to the dashboard. Token login stays for break-glass.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from llm_proxy.api.admin.access import gateway_of
from llm_proxy.api.admin.login import set_session_cookie
from llm_proxy.oidc.login import PENDING_S, LoginFailed, OidcLogin
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import principal_admin
from llm_proxy.store.sessions import SSO_SUBJECT, open_session

router = APIRouter(prefix="/admin/session/oidc", tags=["Admin: session"])

_PENDING_COOKIE = "gw_oidc"
_PENDING_PATH = "/admin/session/oidc"


@router.get("/start", summary="Single sign-on: go to the identity provider", status_code=302)
async def start(request: Request) -> Response:
    try:
        started = await _login(request).start()
    except LoginFailed as exc:
        raise GatewayError(502, str(exc), code="sso_unavailable") from None
    response = RedirectResponse(started.url, status_code=302)
    response.set_cookie(
        _PENDING_COOKIE,
        started.cookie,
        max_age=PENDING_S,
        path=_PENDING_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        # Lax: the provider's redirect back is a cross-site top-level navigation.
        samesite="lax",
    )
    return response


@router.get("/callback", summary="Single sign-on: the identity provider's answer")
async def callback(
    request: Request, code: str | None = None, state: str | None = None, error: str | None = None
) -> Response:
    login = _login(request)
    if error is not None:
        raise GatewayError(401, f"The identity provider refused the login: {error[:200]}.")
    if not code or not state:
        raise GatewayError(400, "The callback needs the provider's 'code' and 'state'.")
    try:
        principal = await login.finish(code, state, request.cookies.get(_PENDING_COOKIE))
    except LoginFailed as exc:
        raise GatewayError(401, str(exc), code="sso_failed") from None
    gateway = gateway_of(request)
    grant = await principal_admin(principal, gateway.directory)
    ttl = timedelta(seconds=gateway.config.auth.session_ttl_s)
    async with gateway.database.session() as session:
        _, cookie = open_session(
            session,
            role=grant.role,
            subject=SSO_SUBJECT + principal.id,
            ttl=ttl,
            team_id=grant.team_id,
        )
        await session.commit()
    response = RedirectResponse(login.config.after_login, status_code=303)
    set_session_cookie(request, response, cookie)
    response.delete_cookie(_PENDING_COOKIE, path=_PENDING_PATH, httponly=True, samesite="lax")
    return response


def _login(request: Request) -> OidcLogin:
    login = gateway_of(request).sso
    if login is None:
        raise GatewayError(404, "Single sign-on is not configured (auth.sso).", code="not_found")
    return login
