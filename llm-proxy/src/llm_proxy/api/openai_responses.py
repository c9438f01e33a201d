"""OpenAI's Responses API: create (streamed or not), retrieve and delete stored responses.

What Codex CLI and the OpenAI Agents SDK speak. Creating runs the same pipeline as chat
(limits, budgets, routing, `model: "auto"`, spend log, metrics, traces); OpenAI-native
backends get the request as it is, every other backend through LiteLLM's bridge to chat.
Stored responses belong to the key that made them (`conversation.py`).
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.conversation import (
    continue_conversation,
    not_found,
    owner_of,
    require_response_input,
)
from llm_proxy.api.handling import Answered, handle
from llm_proxy.api.responses import error_response
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify

router = APIRouter(tags=["OpenAI"])


def render(error: GatewayError) -> bytes:
    return error.openai_body()


def responses_error_event(message: str) -> bytes:
    """The Responses API's `error` event, for a stream that broke upstream."""
    event = {
        "type": "error",
        "code": "upstream_stream_error",
        "message": message,
        "param": None,
        "sequence_number": 0,
    }
    return b"event: error\ndata: " + orjson.dumps(event) + b"\n\n"


@router.post("/v1/responses", summary="Create a model response (OpenAI Responses API)")
async def create_response(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway

    async def prepare(ctx: RequestContext) -> Answered:
        return await continue_conversation(gateway.responses, ctx)

    return await handle(
        request, "responses", require_response_input, render, responses_error_event, prepare
    )


@router.get("/v1/responses/{response_id}", summary="Retrieve a stored model response")
async def get_response(request: Request, response_id: str) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        identity = await identify(dict(request.headers), gateway.master_key, gateway.directory)
        stored = await gateway.responses.get(owner_of(identity), response_id)
        if stored is None:
            raise not_found(response_id)
    except GatewayError as error:
        return error_response(error, render)
    return Response(orjson.dumps(stored.response), media_type="application/json")


@router.delete("/v1/responses/{response_id}", summary="Delete a stored model response")
async def delete_response(request: Request, response_id: str) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        identity = await identify(dict(request.headers), gateway.master_key, gateway.directory)
        if not await gateway.responses.delete(owner_of(identity), response_id):
            raise not_found(response_id)
    except GatewayError as error:
        return error_response(error, render)
    body = {"id": response_id, "object": "response.deleted", "deleted": True}
    return Response(orjson.dumps(body), media_type="application/json")
