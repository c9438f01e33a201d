"""Finding 2: keys without a team share the cache with nobody, the master key included."""

from __future__ import annotations

from typing import Any

import httpx

from tests.security.conftest import MASTER, admin, chat_body, create, unique, wait_for
from tests.support.processes import Gateway


def _stored(gateway: Gateway) -> int:
    with admin(gateway) as http:
        stored: int = http.get("/admin/cache/stats").json()["stored"]
    return stored


def _ask(gateway: Gateway, key: str, body: dict[str, Any]) -> httpx.Response:
    before = _stored(gateway)
    with gateway.client(key) as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    if response.headers["x-gateway-cache"] == "miss":
        wait_for(lambda: _stored(gateway) > before, "the cache write")
    return response


def test_keys_without_a_team_get_a_cache_of_their_own(gateway: Gateway) -> None:
    body = chat_body(unique("What is the refund policy?"))
    first = _ask(gateway, MASTER, body)
    assert first.headers["x-gateway-cache"] == "miss"
    assert _ask(gateway, MASTER, body).headers["x-gateway-cache"] == "hit"
    lone = create(gateway, "keys", name=unique("lone"))["key"]
    other = create(gateway, "keys", name=unique("other"))["key"]
    answered = _ask(gateway, lone, body)
    assert answered.headers["x-gateway-cache"] == "miss"
    assert answered.json()["id"] != first.json()["id"]
    assert _ask(gateway, lone, body).headers["x-gateway-cache"] == "hit"
    assert _ask(gateway, other, body).headers["x-gateway-cache"] == "miss"


def test_a_key_without_a_team_clears_only_its_own_answers(gateway: Gateway) -> None:
    body = chat_body(unique("Name a prime."))
    lone = create(gateway, "keys", name=unique("lone"))["key"]
    _ask(gateway, lone, body)
    _ask(gateway, MASTER, body)
    with gateway.client(lone) as http:
        cleared = http.request("DELETE", "/v1/cache", json={})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["entries_deleted"] == 1
    assert _ask(gateway, MASTER, body).headers["x-gateway-cache"] == "hit"
    assert _ask(gateway, lone, body).headers["x-gateway-cache"] == "miss"
