"""The client APIs' POST routes, dispatched straight to their endpoints.

FastAPI declares and documents every route, these included; this is the innermost
middleware, so everything in front of the router (body limit, client certificates,
admin ids) still applies. For the few paths clients call on every request it skips
what the router adds per request and these endpoints do not use: the route scan,
dependency solving (they take only the `Request`), two exit stacks and the exception
middleware's wrapping. An error is rendered by the handler the app registered for it,
as the exception middleware would.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from llm_proxy.api import anthropic, openai, openai_responses

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Any], Response | Awaitable[Response]]

ROUTES: dict[str, Endpoint] = {
    "/v1/chat/completions": openai.chat_completions,
    "/v1/completions": openai.completions,
    "/v1/embeddings": openai.embeddings,
    "/v1/responses": openai_responses.create_response,
    "/v1/messages": anthropic.messages,
}


class DataPlane:
    def __init__(self, app: ASGIApp, fastapi: FastAPI) -> None:
        self.app = app
        self.fastapi = fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        scope["app"] = self.fastapi
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            rendered = handler(request, exc)
            response = await rendered if inspect.isawaitable(rendered) else rendered
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Handler | None:
        handlers = self.fastapi.exception_handlers
        for kind in type(exc).__mro__:
            if kind in handlers:
                return handlers[kind]
        return None
