"""The audit log: one entry per admin write of a scripted session, nothing secret in it,
filters and cursor pages, readable by the readonly role."""

from __future__ import annotations

import json
from typing import Any

from tests.control.conftest import admin, create
from tests.support.processes import Gateway


def entries(gateway: Gateway, token: str | None = None, **filters: Any) -> list[dict[str, Any]]:
    with admin(gateway, token) as http:
        response = http.get("/admin/audit", params={"limit": 200, **filters})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def test_every_admin_write_of_a_session_is_one_entry_with_nothing_secret(
    gateway: Gateway,
) -> None:
    operator = create(gateway, "tokens", name="operator", role="admin")
    token = operator["token"]
    secrets = [token]
    with admin(gateway, token) as http:
        writes = [
            http.post("/admin/budgets", json={"name": "audit-budget", "usd_monthly": 50}),
            http.post("/admin/teams", json={"name": "audit-team", "rpm": 100}),
        ]
        team_id = writes[1].json()["id"]
        writes.append(http.post("/admin/keys", json={"name": "audited", "team_id": team_id}))
        key = writes[2].json()
        secrets.append(key["key"])
        writes.append(http.patch(f"/admin/keys/{key['id']}", json={"rpm": 7}))
        writes.append(http.post(f"/admin/keys/{key['id']}/rotate", json={"grace_s": 60}))
        secrets.append(writes[-1].json()["key"])
        writes.append(http.post(f"/admin/keys/{key['id']}/revoke"))
        writes.append(http.patch(f"/admin/teams/{team_id}", json={"rpm": 200}))
        writes.append(http.request("DELETE", "/admin/cache", json={"scope": "all"}))
        # Refused writes change nothing, so they leave no entry.
        refused = http.post("/admin/teams", json={"name": "audit-team"})
        invalid = http.post("/admin/keys", json={"team_id": "team_nope"})
    assert [w.status_code for w in writes] == [201, 201, 201, 200, 200, 200, 200, 200]
    assert refused.status_code == 409 and invalid.status_code == 400
    mine = entries(gateway, actor=operator["id"])
    assert len(mine) == len(writes)
    assert [e["action"] for e in reversed(mine)] == [
        "POST /admin/budgets",
        "POST /admin/teams",
        "POST /admin/keys",
        "PATCH /admin/keys/{key_id}",
        "POST /admin/keys/{key_id}/rotate",
        "POST /admin/keys/{key_id}/revoke",
        "PATCH /admin/teams/{team_id}",
        "DELETE /admin/cache",
    ]
    assert {e["request_id"] for e in mine} == {w.headers["x-request-id"] for w in writes}
    assert all(e["client"] == "127.0.0.1" and e["role"] == "admin" for e in mine)
    change = next(e for e in mine if e["action"] == "PATCH /admin/keys/{key_id}")
    target = f"virtual_keys/{key['id']}"
    assert change["target"] == target
    assert change["before"][target]["rpm"] is None and change["after"][target]["rpm"] == 7
    created = next(e for e in mine if e["action"] == "POST /admin/keys")
    assert created["before"] == {target: None}
    assert created["after"][target]["team_id"] == team_id
    text = json.dumps(mine)
    for secret in secrets:
        assert secret not in text and secret[len("sk-gw-") :] not in text
    assert "key_hash" not in text and "token_hash" not in text


def test_filters_and_cursor_pages(gateway: Gateway) -> None:
    token = create(gateway, "tokens", name="pager", role="admin")
    for i in range(5):
        create(gateway, "budgets", token["token"], name=f"paged-{i}")
    viewer = create(gateway, "tokens", name="auditor", role="readonly")["token"]
    pages: list[list[dict[str, Any]]] = []
    after = None
    with admin(gateway, viewer) as http:
        while True:
            params: dict[str, Any] = {"actor": token["id"], "limit": 2}
            if after is not None:
                params["after"] = after
            page = http.get("/admin/audit", params=params).json()
            pages.append(page["data"])
            after = page["next_after"]
            if not page["has_more"]:
                break
        refused = http.post("/admin/budgets", json={"name": "not-allowed"})
    assert [len(p) for p in pages] == [2, 2, 1]
    ids = [e["id"] for p in pages for e in p]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
    assert refused.status_code == 403
    budgets = entries(gateway, viewer, target="budgets", actor=token["id"])
    assert len(budgets) == 5 and all(e["target"].startswith("budgets/") for e in budgets)
    one = budgets[0]
    assert entries(gateway, viewer, target=one["target"]) == [one]
    assert entries(gateway, viewer, request_id=one["request_id"]) == [one]
    assert entries(gateway, viewer, actor=token["id"], since="2999-01-01T00:00:00Z") == []
