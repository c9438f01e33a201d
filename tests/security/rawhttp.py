"""HTTP/1.1 by hand, for what clients' libraries will not do: stall, trickle, never finish."""

from __future__ import annotations

import select
import socket
import time
from urllib.parse import urlparse


def connect(url: str) -> socket.socket:
    parsed = urlparse(url)
    sock = socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 80), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "host: 127.0.0.1",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def send_quietly(sock: socket.socket, data: bytes) -> bool:
    """Send; False once the server has closed its side (which is what some tests want)."""
    try:
        sock.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        return False
    return True


def read_response(sock: socket.socket, timeout_s: float) -> bytes:
    """Whatever arrives until the server closes or `timeout_s` passes with nothing new."""
    sock.settimeout(timeout_s)
    received = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
            if b"\r\n\r\n" in received and _complete(received):
                break
    except (TimeoutError, ConnectionResetError):
        pass
    return received


def _complete(received: bytes) -> bool:
    header, _, body = received.partition(b"\r\n\r\n")
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def closed_within(sock: socket.socket, timeout_s: float, trickle: bytes = b"") -> float | None:
    """Seconds until the server closed the connection (None: still open at `timeout_s`).

    With `trickle`, one byte of it is sent every 0.25 s meanwhile, like a slow attacker.
    """
    started = time.monotonic()
    position = 0
    sock.setblocking(False)
    while (elapsed := time.monotonic() - started) < timeout_s:
        readable, _, _ = select.select([sock], [], [], 0.25)
        if readable:
            try:
                while sock.recv(65536):
                    pass
            except BlockingIOError:
                continue
            except ConnectionResetError:
                pass
            return elapsed
        if position < len(trickle):
            try:
                sock.send(trickle[position : position + 1])
            except (BrokenPipeError, ConnectionResetError):
                return elapsed
            position += 1
    return None


def status_of(response: bytes) -> int | None:
    if not response.startswith(b"HTTP/1.1 "):
        return None
    return int(response[9:12])
