"""Finding 11: a stream its client abandons is logged as such (499), like a non-streamed
request whose client left, and still settled for what was streamed."""

from __future__ import annotations

import httpx
import pytest

from tests.security.conftest import MASTER, chat_body, logs, unique, wait_for
from tests.support.processes import Gateway


def _stream(gateway: Gateway, client_id: str, model: str, chunks: int | None) -> None:
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": client_id}
    body = chat_body(unique("stream"), model=model, stream=True)
    with (
        httpx.Client(base_url=gateway.url, headers=headers, timeout=60) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        received = response.iter_bytes()
        for _ in range(chunks) if chunks is not None else iter(int, 1):
            if next(received, None) is None:
                break


def _logged(gateway: Gateway, client_id: str) -> dict[str, object]:
    wait_for(lambda: len(logs(gateway, client_request_id=client_id)) == 1, "the record")
    (row,) = logs(gateway, client_request_id=client_id)
    return row


def test_an_abandoned_stream_is_logged_499_with_what_was_streamed(gateway: Gateway) -> None:
    client_id = unique("left")
    _stream(gateway, client_id, "m-trickle", chunks=4)
    row = _logged(gateway, client_id)
    assert row["status"] == 499
    assert row["error_type"] == "client_disconnected"
    assert row["stream"] is True
    assert 0 < int(str(row["completion_tokens"])) < 200


def test_a_stream_read_to_its_end_is_logged_200(gateway: Gateway) -> None:
    client_id = unique("whole")
    _stream(gateway, client_id, "gpt-4o-mini", chunks=None)
    row = _logged(gateway, client_id)
    assert row["status"] == 200 and row["error_type"] is None
    assert row["completion_tokens"] == 6


def test_a_request_whose_client_left_before_the_answer_is_logged_499(gateway: Gateway) -> None:
    # m-trickle answers a non-streamed request after ~10 s: the record comes sooner only
    # if the client leaving cancelled the work.
    client_id = unique("gone")
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": client_id}
    body = chat_body(unique("gone"), model="m-trickle")
    with (
        httpx.Client(base_url=gateway.url, headers=headers, timeout=0.5) as http,
        pytest.raises(httpx.ReadTimeout),
    ):
        http.post("/v1/chat/completions", json=body)
    row = _logged(gateway, client_id)
    assert row["status"] == 499
    assert row["error_type"] == "client_disconnected"
    assert row["stream"] is False
