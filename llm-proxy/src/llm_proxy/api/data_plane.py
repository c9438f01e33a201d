"""The client APIs' POST routes, taken in front of the app's middleware stack.

FastAPI declares and documents every route, these included. For the few paths clients
call on every request, the app (`GatewayApp`) hands the request to its endpoint before
any of the stack: only the middlewares these requests need are applied (the body limit,
and the client-certificate match when mTLS clients are configured, in that order from
the inside out, as in the stack); the server-error, exception-telemetry and Starlette
body-limit layers, the admin ids (admin paths only), the route scan, dependency solving
(the endpoints take only the `Request`), two exit stacks and the exception middleware's
wrapping are skipped: each cost a coroutine and a frame per request, for nothing these
endpoints use. An error is rendered by the handler the app registered for it, as the
exception middleware (or, for any other exception, the server-error middleware) would.
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
from llm_proxy.api.body_limit import BodyLimit
from llm_proxy.api.client_cert import ClientCertificates
from llm_proxy.config.client_auth import ClientCertificate

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, Any], Response | Awaitable[Response]]

ROUTES: dict[str, Endpoint] = {
    "/v1/chat/completions": openai.chat_completions,
    "/v1/completions": openai.completions,
    "/v1/embeddings": openai.embeddings,
    "/v1/responses": openai_responses.create_response,
    "/v1/messages": anthropic.messages,
}


class GatewayApp(FastAPI):
    """The FastAPI app, with the client APIs' POST requests served by `DataPlane`."""

    data_plane: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.data_plane is not None and _served(scope):
            await self.data_plane(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def data_plane(app: FastAPI, limit: Callable[[], int], clients: list[ClientCertificate]) -> ASGIApp:
    """The data plane's own stack: the endpoints inside the body limit, inside the
    client-certificate match when there are mTLS clients."""
    served: ASGIApp = BodyLimit(DataPlane(app), limit=limit)
    return ClientCertificates(served, clients=clients) if clients else served


def _served(scope: Scope) -> bool:
    return scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in ROUTES


class DataPlane:
    def __init__(self, fastapi: FastAPI) -> None:
        self.fastapi = fastapi

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = ROUTES[scope["path"]]
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
