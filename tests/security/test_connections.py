"""Finding 10: slow or silent clients cannot hold connections open.

The test gateway gives a client 2 s to send a request's headers and closes keep-alive
connections idle for 2 s. Twenty clients trickling a header byte every 0.25 s (and one
that connects and says nothing) are all cut off, while others are served meanwhile.
"""

from __future__ import annotations

import time

import httpx

from tests.security import rawhttp
from tests.support.processes import Gateway

# Header deadline and keep-alive in the test config are 2 s; a loaded machine gets slack.
_CLOSED_BY_S = 8.0


def test_clients_trickling_headers_are_cut_off(gateway: Gateway) -> None:
    sockets = [rawhttp.connect(gateway.url) for _ in range(20)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n")
        # Meanwhile the gateway serves others.
        assert httpx.get(f"{gateway.url}/health", timeout=10).status_code == 200
        trickle = b"x-slow: " + b"a" * 100
        closed = [rawhttp.closed_within(sock, _CLOSED_BY_S, trickle) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
    assert all(seconds is not None for seconds in closed), closed


def test_a_client_that_never_sends_a_byte_is_cut_off(gateway: Gateway) -> None:
    with rawhttp.connect(gateway.url) as sock:
        assert rawhttp.closed_within(sock, _CLOSED_BY_S) is not None


def test_an_idle_keep_alive_connection_is_closed(gateway: Gateway) -> None:
    with rawhttp.connect(gateway.url) as sock:
        sock.sendall(rawhttp.head("GET", "/health", {}))
        assert rawhttp.status_of(rawhttp.read_response(sock, timeout_s=10)) == 200
        assert rawhttp.closed_within(sock, _CLOSED_BY_S) is not None


def test_a_keep_alive_connection_in_use_stays_open(gateway: Gateway) -> None:
    # Each request restarts the 2 s wait: the third comes 2.4 s after the first answer.
    with rawhttp.connect(gateway.url) as sock:
        for pause_s in (0.0, 1.2, 1.2):
            time.sleep(pause_s)
            sock.sendall(rawhttp.head("GET", "/health", {}))
            assert rawhttp.status_of(rawhttp.read_response(sock, timeout_s=10)) == 200
        assert rawhttp.closed_within(sock, _CLOSED_BY_S) is not None


def test_a_second_request_on_a_connection_gets_its_own_header_deadline(
    gateway: Gateway,
) -> None:
    with rawhttp.connect(gateway.url) as sock:
        sock.sendall(rawhttp.head("GET", "/health", {}))
        assert rawhttp.status_of(rawhttp.read_response(sock, timeout_s=10)) == 200
        sock.sendall(b"GET /health HTTP/1.1\r\n")
        closed = rawhttp.closed_within(sock, _CLOSED_BY_S, trickle=b"host: " + b"b" * 100)
    assert closed is not None
