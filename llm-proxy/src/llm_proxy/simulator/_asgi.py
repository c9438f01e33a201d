"""The few raw ASGI pieces the simulator needs; no framework sits on its hot path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
RawHeaders = list[tuple[bytes, bytes]]

JSON_TYPE = b"application/json"
SSE_TYPE = b"text/event-stream; charset=utf-8"


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased, as ASGI servers give them
    body: bytes

    def query_int(self, name: str, default: int) -> int:
        values = self.query.get(name)
        return int(values[-1]) if values and values[-1].isdigit() else default


async def read_request(scope: Scope, receive: Receive) -> Request:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    query = parse_qs(scope["query_string"].decode("latin-1")) if scope["query_string"] else {}
    return Request(scope["method"], scope["path"], query, headers, b"".join(chunks))


class Responder:
    """Sends one response and remembers its status; adds the headers every response carries."""

    def __init__(self, send: Send, common_headers: RawHeaders) -> None:
        self._send = send
        self._common = common_headers
        self.status = 0

    async def start(
        self,
        status: int,
        content_type: bytes,
        headers: Sequence[tuple[bytes, bytes]] = (),
        length: int | None = None,
    ) -> None:
        self.status = status
        raw = [(b"content-type", content_type), *self._common, *headers]
        if length is not None:
            raw.append((b"content-length", str(length).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})

    async def body(self, data: bytes, *, more: bool) -> None:
        await self._send({"type": "http.response.body", "body": data, "more_body": more})

    async def payload(
        self,
        status: int,
        body: bytes,
        content_type: bytes = JSON_TYPE,
        headers: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        await self.start(status, content_type, headers, len(body))
        await self.body(body, more=False)

    async def json(
        self, status: int, value: Any, headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        await self.payload(status, orjson.dumps(value), JSON_TYPE, headers)


async def wait_for_disconnect(receive: Receive) -> None:
    """Returns once the client has gone; the request body must already be read."""
    while (await receive())["type"] != "http.disconnect":
        pass
