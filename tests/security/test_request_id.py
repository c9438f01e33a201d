"""Finding 7: the gateway names each request itself; the client's x-request-id is only a
length-capped correlation field, so reusing one never merges or hides spend records."""

from __future__ import annotations

import httpx

from tests.security.conftest import chat_body, logs, team_key, unique, wait_for
from tests.support.processes import Gateway


def _send(gateway: Gateway, key: str, client_id: str) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}", "x-request-id": client_id}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:
        response = http.post("/v1/chat/completions", json=chat_body(unique("paid")))
    assert response.status_code == 200, response.text
    return response


def test_a_reused_request_id_makes_a_record_per_request(gateway: Gateway) -> None:
    client_id = unique("client-id")
    first, second = team_key(gateway), team_key(gateway)
    answers = [_send(gateway, first["key"], client_id) for _ in range(5)]
    answers.append(_send(gateway, second["key"], client_id))
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert len(set(ids)) == 6 and client_id not in ids
    assert all(request_id.startswith("req_") for request_id in ids)
    wait_for(lambda: len(logs(gateway, client_request_id=client_id)) == 6, "six records")
    rows = logs(gateway, client_request_id=client_id)
    assert {row["request_id"] for row in rows} == set(ids)
    assert [row["key_id"] for row in rows].count(first["id"]) == 5
    assert [row["key_id"] for row in rows].count(second["id"]) == 1
    assert {row["client_request_id"] for row in rows} == {client_id}


def test_a_huge_request_id_is_neither_echoed_nor_logged_whole(gateway: Gateway) -> None:
    key = team_key(gateway)
    huge = unique("x") + "y" * 60_000
    answer = _send(gateway, key["key"], huge)
    request_id = answer.headers["x-request-id"]
    assert request_id.startswith("req_") and len(request_id) < 64
    assert len(answer.headers.raw) < 30  # no header carries the 60 kB value back
    assert all(len(value) < 1000 for _, value in answer.headers.raw)
    wait_for(lambda: len(logs(gateway, key_id=key["id"])) == 1, "the record")
    (row,) = logs(gateway, key_id=key["id"])
    assert row["request_id"] == request_id
    assert row["client_request_id"] == huge[:128]
