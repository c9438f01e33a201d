"""Anthropic's Messages API, to any backend: IDE tools and the anthropic SDK speak it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from llm_proxy.api.handling import handle
from llm_proxy.api.requests import require_max_tokens, require_messages
from llm_proxy.api.responses import anthropic_error_event
from llm_proxy.pipeline.errors import GatewayError
from starlette.requests import Request
from starlette.responses import Response

router = APIRouter(tags=["Anthropic"])


def render(error: GatewayError) -> bytes:
    return error.anthropic_body()


def _validate(body: dict[str, Any]) -> None:
    require_messages(body)
    require_max_tokens(body)


@router.post("/v1/messages", summary="Create a message (Anthropic format)")
async def messages(request: Request) -> Response:
    return await handle(request, "messages", _validate, render, anthropic_error_event)
