"""The dashboard's single sign-on (`auth.sso`) against the test's OIDC provider on loopback.

Over HTTP: the start sends the browser to the provider with a PKCE challenge (S256), state
and nonce; the callback opens the same cookie session as a token login, with the role the
ID token's claims map to; a replayed code, a wrong state, a browser that never started the
login and a user with no gateway role are refused. In Chromium: the whole round trip, from
the start to the dashboard showing the claimed role.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from tests.dashboard.conftest import dashboard_build  # noqa: F401  (the shared fixture)
from tests.identity.conftest import MASTER_KEY, gateway_config
from tests.identity.idp import IdentityProvider
from tests.support.browser import chromium_page
from tests.support.processes import Gateway, Simulator, free_port, start_gateway


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.users = {
        "ada": {"groups": ["gw-readers", "staff"], "email": "ada@example.com"},
        "root": {"groups": ["gw-admins"]},
        "eve": {"groups": ["marketing"]},
    }
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator,
    idp: IdentityProvider,
    dashboard_build: Path,  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("sso-gateway")
    port = free_port()
    idp.redirect_uri = f"http://127.0.0.1:{port}/admin/session/oidc/callback"
    sso = {
        "issuer": idp.issuer,
        "client_id": idp.client_id,
        "redirect_uri": idp.redirect_uri,
        "claims": {"roles": "$.groups"},
        "roles": {"gw-admins": "admin", "gw-readers": "readonly"},
    }
    extra = {"auth": {"sso": sso}, "gateway": {"ui_dir": str(dashboard_build)}}
    config = gateway_config(simulator, directory, **extra)
    gateway = start_gateway(config, directory, MASTER_KEY, port=port)
    yield gateway
    gateway.stop()


def test_the_login_page_is_told_single_sign_on_is_offered(gw: Gateway) -> None:
    methods = httpx.get(f"{gw.url}/admin/session/methods").json()
    assert methods == {
        "sso": {"label": "Sign in with single sign-on", "start": "/admin/session/oidc/start"}
    }


def begin(gw: Gateway, http: httpx.Client) -> dict[str, str]:
    """`start`: the provider's authorization request, as the browser is sent to it."""
    response = http.get(f"{gw.url}/admin/session/oidc/start")
    assert response.status_code == 302
    assert "gw_oidc" in http.cookies
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["response_type"] == "code" and query["nonce"] and query["state"]
    return query


def sign_in(idp: IdentityProvider, query: dict[str, str], user: str) -> dict[str, str]:
    """The user at the provider's form: where the provider sends the browser back."""
    form = {**query, "method": query["code_challenge_method"], "username": user}
    answer = httpx.post(f"{idp.url}/authorize", data=form)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return {k: v[0] for k, v in parse_qs(back.query).items()}


def test_the_callback_opens_a_session_with_the_claimed_role(
    gw: Gateway, idp: IdentityProvider
) -> None:
    with httpx.Client() as browser:
        returned = sign_in(idp, begin(gw, browser), "ada")
        landed = browser.get(f"{gw.url}/admin/session/oidc/callback", params=returned)
        assert landed.status_code == 303, landed.text
        assert landed.headers["location"] == "/ui/"
        session = browser.get(f"{gw.url}/admin/session")
        assert session.status_code == 200
        assert session.json()["role"] == "readonly"
        # The same cookie session as a token login: readonly may read, not write.
        assert browser.get(f"{gw.url}/admin/teams").status_code == 200
        csrf = {"x-csrf-token": session.json()["csrf_token"]}
        write = browser.post(f"{gw.url}/admin/teams", json={"name": "nope"}, headers=csrf)
        assert write.status_code == 403
        # A code is good once.
        again = browser.get(f"{gw.url}/admin/session/oidc/callback", params=returned)
        assert again.status_code == 401


def test_a_login_not_started_here_or_with_another_state_is_refused(
    gw: Gateway, idp: IdentityProvider
) -> None:
    with httpx.Client() as browser:
        returned = sign_in(idp, begin(gw, browser), "root")
        forged = browser.get(
            f"{gw.url}/admin/session/oidc/callback", params={**returned, "state": "other"}
        )
        assert forged.status_code == 401
        assert "state does not match" in forged.json()["error"]["message"]
    with httpx.Client() as stranger:  # never went through `start`: no pending login
        answer = stranger.get(f"{gw.url}/admin/session/oidc/callback", params=returned)
        assert answer.status_code == 401
        assert "No login is under way" in answer.json()["error"]["message"]


def test_a_user_without_a_gateway_role_gets_no_session(gw: Gateway, idp: IdentityProvider) -> None:
    with httpx.Client() as browser:
        returned = sign_in(idp, begin(gw, browser), "eve")
        answer = browser.get(f"{gw.url}/admin/session/oidc/callback", params=returned)
        assert answer.status_code == 403
        assert "no gateway role" in answer.json()["error"]["message"]
        assert "gw_session" not in browser.cookies


@pytest.mark.timeout(600)
def test_single_sign_on_in_chromium_ends_in_the_dashboard(gw: Gateway) -> None:
    with chromium_page() as page:
        page.goto(f"{gw.url}/ui/")
        page.get_by_role("link", name="Sign in with single sign-on").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("User name").fill("root")
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{gw.url}/ui/**")
        expect(page.get_by_test_id("role")).to_have_text("admin")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
