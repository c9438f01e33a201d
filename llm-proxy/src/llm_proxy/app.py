"""Builds the ASGI app: routes, error shapes, lifespan. Nothing else."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api import anthropic, feedback, health, metrics, openai, openai_responses, usage
from llm_proxy.api.admin import (
    audit,
    backends,
    budgets,
    keys,
    logged_prompts,
    routing,
    teams,
    tokens,
    users,
)
from llm_proxy.api.admin import cache as admin_cache
from llm_proxy.api.admin import config as admin_config
from llm_proxy.api.admin import denied_tokens as admin_denied_tokens
from llm_proxy.api.admin import guardrails as admin_guardrails
from llm_proxy.api.admin import limits as admin_limits
from llm_proxy.api.admin import login as admin_login
from llm_proxy.api.admin import logs as admin_logs
from llm_proxy.api.admin import optimizer as admin_optimizer
from llm_proxy.api.admin import prompts as admin_prompts
from llm_proxy.api.admin import providers as admin_providers
from llm_proxy.api.admin import sessions as admin_sessions
from llm_proxy.api.admin import sso as admin_sso
from llm_proxy.api.admin import timeseries as admin_timeseries
from llm_proxy.api.admin.request_ids import AdminRequestIds
from llm_proxy.api.body_limit import BodyLimit
from llm_proxy.api.client_cert import ClientCertificates
from llm_proxy.api.dashboard import mount_dashboard
from llm_proxy.api.data_plane import GatewayApp, data_plane
from llm_proxy.gateway import Gateway, log
from llm_proxy.heap import trim_periodically
from llm_proxy.pipeline.errors import GatewayError, invalid_input


def build_app(gateway: Gateway) -> FastAPI:
    app = GatewayApp(
        title="LLM gateway",
        summary="One OpenAI- and Anthropic-compatible endpoint for every LLM provider.",
        version="0.1.0",
        lifespan=_lifespan,
        # The gateway makes its own spans and metrics (llm_proxy.telemetry). FastAPI's
        # built-in ones would add a second server span to every trace, and even switched
        # off by an absent provider they look the provider up on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.gateway = gateway
    app.state.pipeline = gateway.pipeline
    for module in (openai, openai_responses, anthropic, health, admin_config, admin_cache):
        app.include_router(module.router)
    for module in (admin_limits, usage, keys, teams, users, budgets, tokens):
        app.include_router(module.router)
    for module in (metrics, admin_logs, admin_sessions, admin_timeseries, admin_prompts, feedback):
        app.include_router(module.router)
    for module in (audit, backends, routing, admin_denied_tokens, admin_guardrails):
        app.include_router(module.router)
    for module in (admin_login, admin_sso, admin_providers, logged_prompts):
        app.include_router(module.router)
    app.include_router(admin_optimizer.router)
    if gateway.config.gateway.ui_dir:
        mount_dashboard(app, Path(gateway.config.gateway.ui_dir))
    limit = lambda: gateway.config.gateway.max_body_bytes  # noqa: E731  (read per request)
    tls = gateway.config.gateway.tls
    clients = list(tls.clients) if tls is not None and tls.clients else []
    app.add_middleware(BodyLimit, limit=limit)
    app.add_middleware(AdminRequestIds)
    if clients:
        app.add_middleware(ClientCertificates, clients=clients)
    # The client APIs' requests skip the stack above, less what they need (api.data_plane).
    app.data_plane = data_plane(app, limit, clients)
    app.add_exception_handler(GatewayError, _gateway_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected_error)
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    gateway: Gateway = app.state.gateway
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_reload(gateway)))
    await gateway.open()
    await gateway.warm_tokenizer()
    gateway.warm_translation()
    gateway.start_probes()
    trimming = asyncio.ensure_future(trim_periodically())
    try:
        yield
    finally:
        trimming.cancel()
        gateway.draining = True
        loop.remove_signal_handler(signal.SIGHUP)
        await gateway.close()


async def _reload(gateway: Gateway) -> None:
    try:
        await gateway.reload()
    except Exception as exc:  # a bad file must never take the running gateway down
        log.error("config reload failed, keeping the running config: %s", exc)


def _render(request: Request, error: GatewayError) -> Response:
    # Anthropic's clients read only Anthropic's shape, also for a path that does not exist.
    anthropic = request.url.path.startswith("/v1/messages")
    body = error.anthropic_body() if anthropic else error.openai_body()
    return Response(body, status_code=error.status, media_type="application/json")


async def _gateway_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GatewayError)
    response = _render(request, exc)
    response.headers.update(exc.headers)
    return response


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = "Not found." if exc.status_code == 404 else str(exc.detail)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {request.url.path}."
    return await _gateway_error(
        request, GatewayError(exc.status_code, message, headers=dict(exc.headers or {}))
    )


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    return _render(request, invalid_input(exc.errors()))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s", request.url.path)
    return _render(request, GatewayError(500, "The gateway hit an internal error."))
