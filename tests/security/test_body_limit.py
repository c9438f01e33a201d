"""Finding 5: no body is read past `max_body_bytes`, on any route, admin included.

A chunked upload has no Content-Length to check first: the gateway used to buffer all of
it before refusing. Here the client sends twice the limit and never finishes the upload;
the answer (413, connection closed) must come anyway, so the gateway stopped reading.
"""

from __future__ import annotations

import orjson
import pytest

from tests.security import rawhttp
from tests.security.conftest import MASTER, MAX_BODY_BYTES
from tests.support.processes import Gateway

ROUTES = [
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/embeddings"),
    ("POST", "/admin/keys"),
    ("POST", "/admin/budgets"),
    ("PATCH", "/admin/teams/team_nope"),
    ("DELETE", "/v1/cache"),
    ("DELETE", "/admin/cache"),
]


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_an_endless_chunked_upload_is_refused_at_the_limit(
    gateway: Gateway, method: str, path: str
) -> None:
    headers = {
        "authorization": f"Bearer {MASTER}",
        "content-type": "application/json",
        "transfer-encoding": "chunked",
    }
    with rawhttp.connect(gateway.url) as sock:
        rawhttp.send_quietly(sock, rawhttp.head(method, path, headers))
        piece = _chunk(b'{"pad": "' + b"x" * 16_384)
        for _ in range(2 * MAX_BODY_BYTES // 16_384):
            if not rawhttp.send_quietly(sock, piece):
                break
        # No terminating chunk: a gateway that waits for the whole body never answers.
        response = rawhttp.read_response(sock, timeout_s=10)
    assert rawhttp.status_of(response) == 413, response[:300]
    head, _, body = response.partition(b"\r\n\r\n")
    assert b"connection: close" in head.lower()
    error = orjson.loads(body)["error"]
    assert str(MAX_BODY_BYTES) in error["message"]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_a_declared_length_over_the_limit_is_refused_before_the_body(
    gateway: Gateway, method: str, path: str
) -> None:
    headers = {
        "authorization": f"Bearer {MASTER}",
        "content-type": "application/json",
        "content-length": str(100 * MAX_BODY_BYTES),
    }
    with rawhttp.connect(gateway.url) as sock:
        rawhttp.send_quietly(sock, rawhttp.head(method, path, headers) + b'{"a": 1')
        response = rawhttp.read_response(sock, timeout_s=10)
    assert rawhttp.status_of(response) == 413, response[:300]


def test_bodies_under_the_limit_are_still_read(gateway: Gateway) -> None:
    with gateway.client(MASTER) as http:
        text = "word " * (MAX_BODY_BYTES // 10)
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}]}
        assert http.post("/v1/chat/completions", json=body).status_code == 200
