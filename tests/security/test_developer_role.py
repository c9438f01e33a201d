"""Finding 12: what a developer token may do, and what stays the admin role's.

A developer token belongs to one team. It issues keys in that team and changes (name,
metadata, expiry), rotates and revokes that team's keys; a key's owner, budget, limits,
allowed models and output cap are the admin's, and so is a rotation grace longer than
`auth.rotation_grace_s` (one day by default).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.security.conftest import admin, create, unique
from tests.support.processes import Gateway


@pytest.fixture
def setting(gateway: Gateway) -> dict[str, Any]:
    own = create(gateway, "teams", name=unique("own"))
    other = create(gateway, "teams", name=unique("other"))
    budget = create(gateway, "budgets", name=unique("budget"), usd_daily=5)
    bounded = create(
        gateway,
        "keys",
        name=unique("bounded"),
        team_id=own["id"],
        budget_id=budget["id"],
        rpm=10,
        allowed_models=["gpt-4o-mini"],
        max_tokens_cap=100,
    )
    foreign = create(gateway, "keys", name=unique("foreign"), team_id=other["id"])
    token = create(gateway, "tokens", name=unique("dev"), role="developer", team_id=own["id"])
    return {"own": own, "other": other, "bounded": bounded, "foreign": foreign, "dev": token}


def _dev(gateway: Gateway, setting: dict[str, Any]) -> httpx.Client:
    return admin(gateway, setting["dev"]["token"])


@pytest.mark.parametrize(
    "change",
    [
        {"budget_id": None},
        {"rpm": None},
        {"tpm": 1_000_000},
        {"allowed_models": []},
        {"max_tokens_cap": None},
        {"team_id": None},
        {"user_id": None},
    ],
)
def test_a_developer_cannot_lift_what_an_admin_set(
    gateway: Gateway, setting: dict[str, Any], change: dict[str, Any]
) -> None:
    key = setting["bounded"]
    with _dev(gateway, setting) as http:
        refused = http.patch(f"/admin/keys/{key['id']}", json=change)
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "insufficient_role"
    with admin(gateway) as http:
        unchanged = http.get(f"/admin/keys/{key['id']}").json()
    assert unchanged["budget_id"] == key["budget_id"] and unchanged["rpm"] == 10
    assert unchanged["allowed_models"] == ["gpt-4o-mini"] and unchanged["team_id"]


def test_a_developer_moves_no_key_into_another_team(
    gateway: Gateway, setting: dict[str, Any]
) -> None:
    with _dev(gateway, setting) as http:
        moved = http.patch(
            f"/admin/keys/{setting['bounded']['id']}", json={"team_id": setting["other"]["id"]}
        )
        elsewhere = http.post("/admin/keys", json={"team_id": setting["other"]["id"]})
    assert moved.status_code == 403 and elsewhere.status_code == 403


def test_a_developer_manages_its_own_teams_keys(gateway: Gateway, setting: dict[str, Any]) -> None:
    key = setting["bounded"]
    with _dev(gateway, setting) as http:
        renamed = http.patch(f"/admin/keys/{key['id']}", json={"name": "renamed"})
        assert renamed.status_code == 200, renamed.text
        issued = http.post("/admin/keys", json={"name": unique("by-dev")})
        assert issued.status_code == 201, issued.text
        assert issued.json()["team_id"] == setting["own"]["id"]
        rotated = http.post(f"/admin/keys/{key['id']}/rotate", json={"grace_s": 3600})
        assert rotated.status_code == 200, rotated.text
        revoked = http.post(f"/admin/keys/{issued.json()['id']}/revoke")
        assert revoked.status_code == 200, revoked.text


def test_a_developer_cannot_set_spending_bounds_on_a_new_key(
    gateway: Gateway, setting: dict[str, Any]
) -> None:
    with _dev(gateway, setting) as http:
        for fields in ({"rpm": 5}, {"allowed_models": ["gpt-4o-mini"]}, {"budget_id": "bud_x"}):
            refused = http.post("/admin/keys", json={"name": unique("dev"), **fields})
            assert refused.status_code == 403, refused.text


def test_a_developer_cannot_touch_another_teams_keys(
    gateway: Gateway, setting: dict[str, Any]
) -> None:
    foreign = setting["foreign"]["id"]
    with _dev(gateway, setting) as http:
        rotate = http.post(f"/admin/keys/{foreign}/rotate", json={"grace_s": 30 * 86400})
        revoke = http.post(f"/admin/keys/{foreign}/revoke")
        rename = http.patch(f"/admin/keys/{foreign}", json={"name": "mine now"})
    assert [rotate.status_code, revoke.status_code, rename.status_code] == [403, 403, 403]
    with admin(gateway) as http:
        untouched = http.get(f"/admin/keys/{foreign}").json()
    assert untouched["status"] == "active" and untouched["rotated_at"] is None


def test_a_developer_grace_is_at_most_the_default(
    gateway: Gateway, setting: dict[str, Any]
) -> None:
    key = setting["bounded"]["id"]
    with _dev(gateway, setting) as http:
        long = http.post(f"/admin/keys/{key}/rotate", json={"grace_s": 30 * 86400})
    assert long.status_code == 403, long.text
    with admin(gateway) as http:
        assert (
            http.post(f"/admin/keys/{key}/rotate", json={"grace_s": 30 * 86400}).status_code == 200
        )


def test_developer_tokens_belong_to_a_team(gateway: Gateway) -> None:
    with admin(gateway) as http:
        teamless = http.post("/admin/tokens", json={"name": unique("dev"), "role": "developer"})
        assert teamless.status_code == 400 and teamless.json()["error"]["param"] == "team_id"
        team = create(gateway, "teams", name=unique("t"))
        scoped_admin = http.post(
            "/admin/tokens", json={"name": unique("a"), "role": "admin", "team_id": team["id"]}
        )
        assert scoped_admin.status_code == 400
        missing = http.post(
            "/admin/tokens", json={"name": unique("d"), "role": "developer", "team_id": "team_no"}
        )
        assert missing.status_code == 400


def test_a_developer_still_cannot_do_admin_work(gateway: Gateway, setting: dict[str, Any]) -> None:
    with _dev(gateway, setting) as http:
        assert http.post("/admin/budgets", json={"name": unique("b")}).status_code == 403
        assert (
            http.patch(f"/admin/teams/{setting['own']['id']}", json={"rpm": 1}).status_code == 403
        )
        assert http.request("DELETE", "/admin/cache", json={}).status_code == 403
        assert http.post("/admin/config/reload").status_code == 403
        assert http.post("/admin/tokens", json={"name": "x", "role": "admin"}).status_code == 403
