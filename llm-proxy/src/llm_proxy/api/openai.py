"""OpenAI's client API: chat completions, text completions, embeddings, models."""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.handling import handle
from llm_proxy.api.requests import require_chat, require_input, require_prompt
from llm_proxy.api.responses import error_response, openai_error_event
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify

router = APIRouter(tags=["OpenAI"])


def render(error: GatewayError) -> bytes:
    return error.openai_body()


@router.post("/v1/chat/completions", summary="Create a chat completion (OpenAI format)")
async def chat_completions(request: Request) -> Response:
    return await handle(request, "chat", require_chat, render, openai_error_event)


@router.post("/v1/completions", summary="Create a text completion (OpenAI's legacy format)")
async def completions(request: Request) -> Response:
    """Fill-in-the-middle (`suffix`), `echo`, `logprobs`, `n`, `stop`, streamed or not; served
    by OpenAI-compatible backends, refused (400) for models whose backends have no such API."""
    return await handle(request, "completions", require_prompt, render, openai_error_event)


@router.post("/v1/embeddings", summary="Create embeddings (OpenAI format)")
async def embeddings(request: Request) -> Response:
    return await handle(request, "embeddings", require_input, render, openai_error_event)


@router.get("/v1/models", summary="List the models clients may ask for")
async def models(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        identity = await identify(dict(request.headers), gateway.master_key, gateway.directory)
    except GatewayError as error:
        return error_response(error, render)
    registry = gateway.registry
    owners = {name: group[0].provider for name, group in registry.groups.items()}
    names = registry.models() + sorted(registry.config.routing.auto_groups)
    if identity.allowed_models:
        names = [name for name in names if name in identity.allowed_models]
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": owners.get(name, "gateway")}
        for name in names
    ]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")
