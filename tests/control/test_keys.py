"""Virtual keys end to end: issue, use, rotate, revoke (seen by a second gateway at once),
what a key may ask for, admin tokens and their roles, Kong's edge trust."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import openai
import pytest

from tests.control.conftest import (
    EDGE_SECRET,
    MASTER,
    MakeGateway,
    admin,
    chat,
    create,
    records,
)
from tests.support import openapi
from tests.support.processes import Gateway, Simulator


def test_a_key_is_shown_once_and_works_with_the_sdk(gateway: Gateway) -> None:
    issued = create(gateway, "keys", name="sdk")
    secret = issued["key"]
    assert secret.startswith("sk-gw-") and len(secret) >= 6 + 43  # 32 random bytes
    assert secret.startswith(issued["key_prefix"])
    with admin(gateway) as http:
        shown = http.get(f"/admin/keys/{issued['id']}").json()
        listed = http.get("/admin/keys").json()["data"]
    assert "key" not in shown and "key_hash" not in shown
    assert secret not in str(listed)
    client = openai.OpenAI(base_url=gateway.v1, api_key=secret, max_retries=0)
    completion = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    assert completion.choices[0].message.content
    with httpx.Client(base_url=gateway.url, headers={"x-api-key": secret}) as http:
        response = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 200


def test_a_wrong_key_gets_401_in_openai_shape(gateway: Gateway) -> None:
    client = openai.OpenAI(base_url=gateway.v1, api_key="sk-gw-not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
    body: Any = caught.value.body
    assert body["code"] == "invalid_api_key"
    openapi.validate("ErrorResponse", caught.value.response.json())


def test_rotation_keeps_the_old_secret_for_its_grace_period(gateway: Gateway) -> None:
    issued = create(gateway, "keys", name="rotating")
    with admin(gateway) as http:
        rotated = http.post(f"/admin/keys/{issued['id']}/rotate", json={"grace_s": 3600}).json()
    assert rotated["id"] == issued["id"] and rotated["key"] != issued["key"]
    assert chat(gateway, rotated["key"]).status_code == 200
    assert chat(gateway, issued["key"]).status_code == 200
    with admin(gateway) as http:
        again = http.post(f"/admin/keys/{issued['id']}/rotate", json={"grace_s": 0}).json()
    assert chat(gateway, again["key"]).status_code == 200
    assert chat(gateway, rotated["key"]).status_code == 401


def test_revocation_reaches_a_second_gateway_within_a_second(
    gateway: Gateway, make_gateway: MakeGateway
) -> None:
    # Long cache TTLs: only the Redis signal can make the second process notice in time.
    first, second = gateway, make_gateway(auth={"key_cache_ttl_s": 300})
    issued = create(first, "keys", name="doomed")
    assert chat(second, issued["key"]).status_code == 200  # cached in the second process
    with admin(first) as http:
        assert http.post(f"/admin/keys/{issued['id']}/revoke").json()["status"] == "revoked"
    revoked_at = time.monotonic()
    status = 200
    while time.monotonic() - revoked_at < 1.0 and status == 200:
        status = chat(second, issued["key"]).status_code
    assert status == 401
    response = chat(second, issued["key"])
    assert response.json()["error"]["message"] == "This API key has been revoked."


def test_expired_keys_are_refused(gateway: Gateway) -> None:
    issued = create(gateway, "keys", name="brief", expires_at="2999-01-01T00:00:00Z")
    assert chat(gateway, issued["key"]).status_code == 200
    with admin(gateway) as http:
        response = http.patch(
            f"/admin/keys/{issued['id']}", json={"expires_at": "2000-01-01T00:00:00Z"}
        )
    assert response.status_code == 400  # in the past: refused, nothing changed
    assert chat(gateway, issued["key"]).status_code == 200


def test_allowed_models_default_model_and_max_tokens_cap(
    gateway: Gateway, simulator: Simulator
) -> None:
    issued = create(
        gateway,
        "keys",
        allowed_models=["gpt-4o-mini"],
        default_model="gpt-4o-mini",
        max_tokens_cap=40,
    )
    key = issued["key"]
    refused = chat(gateway, key, model="gpt-4o")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "model_not_allowed"
    over = chat(gateway, key, max_tokens=41)
    assert over.status_code == 400 and over.json()["error"]["param"] == "max_tokens"
    with gateway.client(key) as http:
        unnamed = http.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": "capped"}]},
        )
    assert unnamed.status_code == 200
    assert unnamed.headers["x-gateway-model"] == "gpt-4o-mini"
    with simulator.client() as sim:
        seen = [r for r in sim.get("/_sim/requests").json()["requests"] if "capped" in str(r)]
    assert seen and seen[-1]["body"]["max_tokens"] == 40
    client = openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0)
    assert [model.id for model in client.models.list()] == ["gpt-4o-mini"]


def test_admin_tokens_by_role(gateway: Gateway) -> None:
    readonly = create(gateway, "tokens", name="ro", role="readonly")["token"]
    team = create(gateway, "teams", name=f"devs-{secrets.token_hex(3)}")
    developer = create(gateway, "tokens", name="dev", role="developer", team_id=team["id"])
    developer = developer["token"]
    with admin(gateway, readonly) as http:
        assert http.get("/admin/keys").status_code == 200
        assert http.post("/admin/keys", json={}).status_code == 403
    with admin(gateway, developer) as http:
        assert http.post("/admin/keys", json={"name": "by-dev"}).status_code == 201
        denied = http.post("/admin/teams", json={"name": "by-dev"})
        assert denied.status_code == 403 and denied.json()["error"]["code"] == "insufficient_role"
        assert http.get("/admin/tokens").status_code == 403
    virtual = create(gateway, "keys", name="not-admin")["key"]
    with admin(gateway, virtual) as http:
        assert http.get("/admin/keys").status_code == 401
    token_id = next(
        t["id"] for t in admin(gateway).get("/admin/tokens").json()["data"] if t["name"] == "ro"
    )
    with admin(gateway) as http:
        assert http.post(f"/admin/tokens/{token_id}/revoke").status_code == 200
    with admin(gateway, readonly) as http:
        assert http.get("/admin/keys").status_code == 401


def test_bad_admin_payloads_are_400_and_write_nothing(gateway: Gateway) -> None:
    with admin(gateway) as http:
        before = len(http.get("/admin/keys", params={"limit": 200}).json()["data"])
        for payload in (
            {"rpm": -1},
            {"surprise": True},
            {"team_id": "team_missing"},
            {"allowed_models": ["no-such-model"]},
            {"allowed_models": ["gpt-4o"], "default_model": "gpt-4o-mini"},
            {"max_tokens_cap": "many"},
        ):
            response = http.post("/admin/keys", json=payload)
            assert response.status_code == 400, (payload, response.text)
            assert response.json()["error"]["message"]
        assert http.post("/admin/keys", content=b"{not json").status_code == 400
        after = len(http.get("/admin/keys", params={"limit": 200}).json()["data"])
        assert http.post("/admin/teams", json={"name": "dup"}).status_code == 201
        duplicate = http.post("/admin/teams", json={"name": "dup"})
        assert duplicate.status_code == 409
        assert http.get("/admin/keys/key_missing").status_code == 404
    assert after == before


def test_pages_walk_every_row_once(gateway: Gateway) -> None:
    made = {create(gateway, "users", email=f"u{i}@example.com")["id"] for i in range(5)}
    seen: list[str] = []
    after: str | None = None
    with admin(gateway) as http:
        while True:
            params: dict[str, Any] = {"limit": 2, **({"after": after} if after else {})}
            page = http.get("/admin/users", params=params).json()
            seen += [row["id"] for row in page["data"]]
            after = page["next_after"]
            if not page["has_more"]:
                break
    assert made <= set(seen) and len(seen) == len(set(seen))


def test_kong_identity_headers_need_the_edge_secret(gateway: Gateway, database_url: str) -> None:
    gw = gateway
    key_id = create(gw, "keys", name="behind-kong")["id"]
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    spoofed = {"x-consumer-username": key_id}
    with httpx.Client(base_url=gw.url) as http:
        assert http.post("/v1/chat/completions", json=body, headers=spoofed).status_code == 401
        wrong = {**spoofed, "x-gateway-edge-secret": "guess"}
        assert http.post("/v1/chat/completions", json=body, headers=wrong).status_code == 401
        trusted = {**spoofed, "x-gateway-edge-secret": EDGE_SECRET}
        response = http.post("/v1/chat/completions", json=body, headers=trusted)
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    deadline = time.monotonic() + 5
    while not (rows := records(database_url, "request_id = %s", request_id)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert rows[0]["key_id"] == key_id


def test_the_admin_api_is_in_the_openapi_document(gateway: Gateway) -> None:
    paths = httpx.get(f"{gateway.url}/openapi.json").json()["paths"]
    for path in (
        "/admin/keys",
        "/admin/keys/{key_id}/rotate",
        "/admin/keys/{key_id}/revoke",
        "/admin/teams",
        "/admin/users",
        "/admin/budgets",
        "/admin/tokens",
        "/v1/teams/{team_id}/usage",
        "/v1/keys/{key_id}/usage",
    ):
        assert path in paths, path
    assert MASTER not in str(paths)
