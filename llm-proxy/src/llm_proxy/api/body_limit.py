"""An ASGI guard: no request body is read past `gateway.max_body_bytes`, on any route.

Starlette and FastAPI read a body whole before anything looks at its size, so a chunked
upload (no Content-Length) of hundreds of MiB was buffered before being refused. This
wraps `receive`: a declared Content-Length over the limit fails the first read, and the
bytes counted so far failing it the moment they pass the limit; either way the read raises
`BodyTooLarge` (a 413, rendered by the app's error handlers, with `connection: close` so
the rest of the upload is not read either). The limit is read on every request, so a
config reload changes it at once.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413, f"Request body is larger than {limit} bytes.", headers={"connection": "close"}
        )


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = _content_length(scope)
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None
