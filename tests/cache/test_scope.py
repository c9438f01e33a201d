"""Answers are kept per team: one team's cached answer is never served to another."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cache.conftest import MODEL, configure, received, stats, wait_stored
from tests.support.processes import Gateway


def _team_key(gw: Gateway, name: str) -> str:
    with gw.client() as http:
        team = http.post("/admin/teams", json={"name": name})
        assert team.status_code == 201, team.text
        key = http.post("/admin/keys", json={"name": f"{name}-key", "team_id": team.json()["id"]})
        assert key.status_code == 201, key.text
    secret: str = key.json()["key"]
    return secret


def _ask(gw: Gateway, key: str, content: str) -> httpx.Response:
    body: dict[str, Any] = {"model": MODEL, "messages": [{"role": "user", "content": content}]}
    with gw.client(key) as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response


def test_two_teams_do_not_share_answers(gw: Gateway, sim: httpx.Client, marker: str) -> None:
    red, blue = (
        _team_key(gw, f"red-{marker.split()[1]}"),
        _team_key(gw, f"blue-{marker.split()[1]}"),
    )
    prompt = f"{marker} What is our refund policy?"
    before = stats(gw)["stored"]
    assert _ask(gw, red, prompt).headers["x-gateway-cache"] == "miss"
    wait_stored(gw, before)
    assert _ask(gw, blue, prompt).headers["x-gateway-cache"] == "miss"
    assert _ask(gw, blue, prompt.upper()).headers["x-gateway-cache"] != "hit"
    assert _ask(gw, red, prompt).headers["x-gateway-cache"] == "hit"
    assert _ask(gw, red, prompt.upper()).headers["x-gateway-cache"].startswith("semantic;")
    assert len(received(sim)) == 2


def test_a_shared_group_is_one_scope_for_every_team(gw: Gateway, marker: str) -> None:
    configure(gw, shared_groups=[MODEL])
    red, blue = _team_key(gw, f"r-{marker.split()[1]}"), _team_key(gw, f"b-{marker.split()[1]}")
    prompt = f"{marker} What does HTTP 418 mean?"
    before = stats(gw)["stored"]
    assert _ask(gw, red, prompt).headers["x-gateway-cache"] == "miss"
    wait_stored(gw, before)
    assert _ask(gw, blue, prompt).headers["x-gateway-cache"] == "hit"


def test_clearing_one_team_leaves_the_other(gw: Gateway, marker: str) -> None:
    suffix = marker.split()[1]
    red, blue = _team_key(gw, f"cr-{suffix}"), _team_key(gw, f"cb-{suffix}")
    prompt = f"{marker} Summarise the handbook."
    for key in (red, blue):
        before = stats(gw)["stored"]
        _ask(gw, key, prompt)
        wait_stored(gw, before)
    red_team = _team_of(gw, red)
    with gw.client() as http:
        cleared = http.request("DELETE", "/v1/cache", json={"team_id": red_team})
    assert cleared.json() == {"entries_deleted": 1}
    assert _ask(gw, red, prompt).headers["x-gateway-cache"] == "miss"
    assert _ask(gw, blue, prompt).headers["x-gateway-cache"] == "hit"


def _team_of(gw: Gateway, key: str) -> str:
    with gw.client() as http:
        keys = http.get("/admin/keys").json()
    rows = keys["data"] if isinstance(keys, dict) else keys
    team: str = next(row["team_id"] for row in rows if key.startswith(row["key_prefix"]))
    return team


def test_a_team_key_clears_only_its_own_team(gw: Gateway, marker: str) -> None:
    suffix = marker.split()[1]
    red, blue = _team_key(gw, f"kr-{suffix}"), _team_key(gw, f"kb-{suffix}")
    prompt = f"{marker} List the office holidays."
    for key in (red, blue):
        before = stats(gw)["stored"]
        _ask(gw, key, prompt)
        wait_stored(gw, before)
    with gw.client(red) as http:
        assert http.request("DELETE", "/v1/cache", json={"scope": "all"}).status_code == 403
        foreign = http.request("DELETE", "/v1/cache", json={"team_id": _team_of(gw, blue)})
        assert foreign.status_code == 403
        assert http.get("/admin/cache/stats").status_code == 401
        own = http.request("DELETE", "/v1/cache", json={})
    assert own.json() == {"entries_deleted": 1}
    assert _ask(gw, red, prompt).headers["x-gateway-cache"] == "miss"
    assert _ask(gw, blue, prompt).headers["x-gateway-cache"] == "hit"
