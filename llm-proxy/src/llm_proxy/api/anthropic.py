"""Anthropic's Messages API, to any backend: IDE tools and the anthropic SDK speak it.

Every path under /v1/messages answers errors in Anthropic's shape (app.py's error handlers
see to the paths this module does not serve), since Anthropic's clients read no other.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.content import check_anthropic_messages
from llm_proxy.api.handling import handle
from llm_proxy.api.parameters import refuse_undocumented
from llm_proxy.api.requests import new_context, read_body, require_anthropic, require_messages
from llm_proxy.api.responses import anthropic_error_event, error_response
from llm_proxy.api.token_count import count_input_tokens
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify

router = APIRouter(tags=["Anthropic"])


def render(error: GatewayError) -> bytes:
    return error.anthropic_body()


@router.post("/v1/messages", summary="Create a message (Anthropic format)")
async def messages(request: Request) -> Response:
    return await handle(request, "messages", require_anthropic, render, anthropic_error_event)


@router.post("/v1/messages/count_tokens", summary="Count a message's input tokens (Anthropic)")
async def count_tokens(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    ctx = new_context(request, "messages")
    try:
        ctx.identity = await identify(ctx.headers, gateway.master_key, gateway.directory)
        await read_body(ctx, request)
        refuse_undocumented("count_tokens", ctx.body)
        require_messages(ctx.body)
        check_anthropic_messages(ctx.body)
        count = await count_input_tokens(gateway, ctx)
    except GatewayError as error:
        return error_response(error, render, ctx.request_id)
    body = orjson.dumps({"input_tokens": count})
    return Response(body, media_type="application/json", headers={"x-request-id": ctx.request_id})
