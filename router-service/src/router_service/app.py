"""Builds the ASGI app: the service object on `app.state`, the routes, the error shapes."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import torch
from fastapi import FastAPI

from router_service.api import admin, embeddings, errors, health, promotion, route
from router_service.api.body_limit import BodyLimit
from router_service.config import DEFAULT_CONFIG, load_config
from router_service.embedding import MiniLMEncoder
from router_service.service import RouterService
from router_service.tracing import TraceRequests, tracing_from_env


def build_app(config_path: Path = DEFAULT_CONFIG) -> FastAPI:
    """Loads everything before returning, so the first request is as fast as the rest."""
    config = load_config(config_path)
    torch.set_num_threads(config.torch_threads)
    service = RouterService(config, MiniLMEncoder.from_package())
    service.warm_up()
    service.routers.start_background_loading()
    service.start_watching()
    tracing = tracing_from_env()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        service.stop_watching()
        if tracing is not None:
            tracing.shutdown()

    app = FastAPI(title="router-service", version="0.1.0", lifespan=lifespan)
    app.state.service = service
    app.state.admin_token = os.environ.get(admin.TOKEN_VARIABLE) or None
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    if tracing is not None:
        # Outermost: a request refused for its size has its span too.
        app.add_middleware(TraceRequests, tracer=tracing.tracer)
    for module in (route, embeddings, health, admin, promotion):
        app.include_router(module.router)
    return app
