"""`/admin/session`: a token exchanged for an httpOnly cookie, CSRF on changes, roles, logout.

Everything over real HTTP against a gateway on Postgres; the browser-level checks are in
`test_browser.py`.
"""

from __future__ import annotations

import time
from contextlib import closing

import httpx
from openai import OpenAI

from tests.support.processes import Gateway


def log_in(gateway: Gateway, token: str) -> tuple[httpx.Client, dict[str, object]]:
    browser = httpx.Client(base_url=gateway.url, timeout=10)
    answer = browser.post("/admin/session", json={"token": token})
    assert answer.status_code == 200, answer.text
    return browser, answer.json()


def issue_token(gateway: Gateway, role: str, team_id: str | None = None) -> str:
    body = {"name": f"{role}-{time.time_ns()}", "role": role}
    if team_id is not None:
        body["team_id"] = team_id
    with gateway.client() as admin:
        answer = admin.post("/admin/tokens", json=body)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["token"])


def test_master_key_session_cookie_is_httponly_strict_and_scoped(gateway: Gateway) -> None:
    answer = httpx.post(f"{gateway.url}/admin/session", json={"token": gateway.master_key})
    assert answer.status_code == 200
    cookie = answer.headers["set-cookie"]
    assert "gw_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
    assert "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain HTTP on loopback; under TLS it is Secure
    body = answer.json()
    assert body["role"] == "admin" and body["key_id"] is None
    assert len(body["csrf_token"]) >= 32
    # Neither the token nor the cookie secret is echoed in the body.
    assert gateway.master_key not in answer.text


def test_session_reads_with_cookie_and_writes_only_with_csrf(gateway: Gateway) -> None:
    browser, session = log_in(gateway, gateway.master_key)
    with closing(browser):
        assert browser.get("/admin/keys").status_code == 200
        assert browser.get("/admin/session").json()["csrf_token"] == session["csrf_token"]
        forged = browser.post("/admin/keys", json={"name": "no-csrf"})
        assert forged.status_code == 403
        assert forged.json()["error"]["code"] == "csrf_failed"
        wrong = browser.post("/admin/keys", json={"name": "x"}, headers={"x-csrf-token": "nope"})
        assert wrong.status_code == 403
        made = browser.post(
            "/admin/keys",
            json={"name": "with-csrf"},
            headers={"x-csrf-token": session["csrf_token"]},
        )
        assert made.status_code == 201, made.text
    with gateway.client() as admin:
        names = [k["name"] for k in admin.get("/admin/keys", params={"limit": 200}).json()["data"]]
    assert "with-csrf" in names and "no-csrf" not in names


def test_readonly_session_reads_but_its_writes_get_403(gateway: Gateway) -> None:
    browser, session = log_in(gateway, issue_token(gateway, "readonly"))
    with closing(browser):
        assert session["role"] == "readonly"
        assert browser.get("/admin/keys").status_code == 200
        assert browser.get("/admin/logs").status_code == 200
        csrf = {"x-csrf-token": str(session["csrf_token"])}
        refused = browser.post("/admin/keys", json={"name": "by-readonly"}, headers=csrf)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "insufficient_role"
        assert browser.delete("/admin/cache", headers=csrf).status_code == 403


def test_logout_ends_the_session_for_good(gateway: Gateway) -> None:
    browser, session = log_in(gateway, gateway.master_key)
    with closing(browser):
        cookie = browser.cookies["gw_session"]
        assert browser.delete("/admin/session").status_code == 403  # logout is a change: CSRF
        ended = browser.delete(
            "/admin/session", headers={"x-csrf-token": str(session["csrf_token"])}
        )
        assert ended.status_code == 204
        assert (
            'gw_session=""' in ended.headers["set-cookie"]
            or "Max-Age=0" in ended.headers["set-cookie"]
        )
    # The same cookie replayed after logout is refused.
    replay = httpx.get(f"{gateway.url}/admin/keys", cookies={"gw_session": cookie})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "session_expired"


def test_developer_session_keeps_its_team_and_revoking_the_token_ends_it(
    gateway: Gateway,
) -> None:
    with gateway.client() as admin:
        team = admin.post("/admin/teams", json={"name": f"devs-{time.time_ns()}"}).json()["id"]
    token = issue_token(gateway, "developer", team)
    browser, session = log_in(gateway, token)
    with closing(browser), gateway.client() as admin:
        assert session["role"] == "developer" and session["team_id"] == team
        # The session acts as the token does: its keys are its team's.
        csrf = {"x-csrf-token": session["csrf_token"]}
        issued = browser.post("/admin/keys", json={"name": "dev-key"}, headers=csrf)
        assert issued.status_code == 201, issued.text
        assert issued.json()["team_id"] == team
        tokens = admin.get("/admin/tokens", params={"limit": 200}).json()["data"]
        token_id = next(t["id"] for t in tokens if token.startswith(t["token_prefix"]))
        assert admin.post(f"/admin/tokens/{token_id}/revoke").status_code == 200
        assert browser.get("/admin/keys").status_code == 401


def test_bad_tokens_open_no_session(gateway: Gateway) -> None:
    for body in (
        {"token": "sk-gw-not-a-key"},
        {"token": "sk-gwadmin-nope"},
        {"token": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"},  # a JWT: no session (yet)
        {"token": ""},
        {},
        {"token": 5},
    ):
        answer = httpx.post(f"{gateway.url}/admin/session", json=body)
        assert answer.status_code in (400, 401), (body, answer.text)
        assert "set-cookie" not in answer.headers
    assert httpx.get(f"{gateway.url}/admin/session").status_code == 401
    forged = httpx.get(f"{gateway.url}/admin/keys", cookies={"gw_session": "made-up"})
    assert forged.status_code == 401


def test_virtual_key_session_sees_only_its_own_and_its_teams_logs(gateway: Gateway) -> None:
    with gateway.client() as admin:
        team = admin.post("/admin/teams", json={"name": f"team-{time.time_ns()}"}).json()
        mine = admin.post("/admin/keys", json={"name": "mine", "team_id": team["id"]}).json()
        teammate = admin.post("/admin/keys", json={"name": "mate", "team_id": team["id"]}).json()
        other = admin.post("/admin/keys", json={"name": "other"}).json()
    for key in (mine, teammate, other):
        OpenAI(base_url=gateway.v1, api_key=key["key"]).chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    browser, session = log_in(gateway, mine["key"])
    with closing(browser):
        assert session["role"] == "key"
        assert session["key_id"] == mine["id"] and session["team_id"] == team["id"]
        deadline = time.monotonic() + 10
        seen: set[str] = set()
        while time.monotonic() < deadline and seen != {mine["id"], teammate["id"]}:
            logs = browser.get("/admin/logs", params={"limit": 200}).json()["data"]
            seen = {row["key_id"] for row in logs}
            time.sleep(0.1)
        assert seen == {mine["id"], teammate["id"]}
        # Asking for another key's rows by filter gives none of them.
        assert browser.get("/admin/logs", params={"key_id": other["id"]}).json()["data"] == []
        with gateway.client() as admin:
            foreign = admin.get("/admin/logs", params={"key_id": other["id"]}).json()["data"][0]
        assert browser.get(f"/admin/logs/{foreign['request_id']}").status_code == 404
        series = browser.get("/admin/usage/timeseries", params={"group_by": "key"}).json()
        assert {p["group"] for p in series["data"]} == {mine["id"], teammate["id"]}
        # Nothing else of the admin API.
        for path in ("/admin/keys", "/admin/teams", "/admin/providers", "/admin/cache/stats"):
            assert browser.get(path).status_code == 403, path


def test_a_virtual_key_bearer_is_still_no_admin(gateway: Gateway) -> None:
    with gateway.client() as admin:
        key = admin.post("/admin/keys", json={"name": "bearer"}).json()["key"]
    assert (
        httpx.get(
            f"{gateway.url}/admin/logs", headers={"authorization": f"Bearer {key}"}
        ).status_code
        == 401
    )


def test_providers_health_for_any_admin_role(gateway: Gateway) -> None:
    browser, _ = log_in(gateway, issue_token(gateway, "readonly"))
    with closing(browser):
        answer = browser.get("/admin/providers")
    assert answer.status_code == 200, answer.text
    deployments = {d["deployment"]: d for d in answer.json()["data"]}
    assert set(deployments) == {"mini", "big"}
    assert deployments["mini"]["circuit_state"] == "closed"
    assert deployments["mini"]["serves"] == ["gpt-4o-mini"]


def test_without_single_sign_on_the_login_page_offers_tokens_only(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}/admin/session/methods").json() == {"sso": None}
