"""Reading a client request: size limit, JSON, the fields every endpoint needs."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from llm_proxy.pipeline.authorize import default_model
from llm_proxy.pipeline.context import Api, RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request
from starlette.requests import Request

# Only these request headers matter to the pipeline; the rest are never looked at.
_KEPT_HEADERS = (
    "authorization",
    "x-api-key",
    "x-session-id",
    "x-request-id",
    "anthropic-version",
    "anthropic-beta",
    # identify: Kong's edge secret and the consumer it vouches for.
    "x-gateway-edge-secret",
    "x-consumer-username",
    "x-credential-identifier",
    # the optimizer: how long its approaches may take.
    "x-gateway-deadline-ms",
    "cache-control",
    "x-gateway-cache",
)


def new_context(request: Request, api: Api) -> RequestContext:
    """A context from the headers alone, so the caller is known before the body is read."""
    headers = {name: request.headers[name] for name in _KEPT_HEADERS if name in request.headers}
    return RequestContext(
        request_id=headers.get("x-request-id") or f"req_{uuid.uuid4().hex}",
        api=api,
        body={},
        headers=headers,
    )


async def read_body(ctx: RequestContext, request: Request, max_bytes: int) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise GatewayError(413, f"Request body is larger than {max_bytes} bytes.")
    raw = await request.body()
    if len(raw) > max_bytes:
        raise GatewayError(413, f"Request body is larger than {max_bytes} bytes.")
    body = ctx.body = _parse_json(raw)
    headers = ctx.headers
    default_model(body, ctx.identity)
    ctx.requested_model = _required_str(body, "model")
    ctx.stream = _optional_bool(body, "stream")
    tags = ctx.metadata.get("tags")
    ctx.tags = [str(t) for t in tags] if isinstance(tags, list) else []
    session = headers.get("x-session-id") or ctx.metadata.get("session_id")
    ctx.session_id = str(session) if session else None


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise bad_request("The request body is empty; send a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _required_str(body: dict[str, Any], field: str) -> str:
    value = body.get(field)
    if value is None:
        raise bad_request(f"Missing required parameter: '{field}'.", param=field)
    if not isinstance(value, str) or not value:
        raise bad_request(f"Invalid type for '{field}': expected a non-empty string.", param=field)
    return value


def _optional_bool(body: dict[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise bad_request(f"Invalid type for '{field}': expected a boolean.", param=field)
    return value


def require_messages(body: dict[str, Any]) -> None:
    messages = body.get("messages")
    if messages is None:
        raise bad_request("Missing required parameter: 'messages'.", param="messages")
    if not isinstance(messages, list) or not messages:
        raise bad_request("Invalid 'messages': expected a non-empty array.", param="messages")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise bad_request(
                f"Invalid 'messages[{index}]': expected an object with a 'role'.",
                param=f"messages[{index}]",
            )


def require_input(body: dict[str, Any]) -> None:
    value = body.get("input")
    if value is None:
        raise bad_request("Missing required parameter: 'input'.", param="input")
    if not isinstance(value, str | list) or (isinstance(value, list) and not value):
        raise bad_request("Invalid 'input': expected a string or a non-empty array.", param="input")


def require_prompt(body: dict[str, Any]) -> None:
    """A text completion's `prompt` (a string, strings, or token ids) and `suffix`."""
    prompt = body.get("prompt")
    if prompt is None:
        raise bad_request("Missing required parameter: 'prompt'.", param="prompt")
    if not isinstance(prompt, str | list) or (isinstance(prompt, list) and not prompt):
        raise bad_request(
            "Invalid 'prompt': expected a string, an array of strings or of token ids.",
            param="prompt",
        )
    suffix = body.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise bad_request("Invalid type for 'suffix': expected a string.", param="suffix")


def require_max_tokens(body: dict[str, Any]) -> None:
    value = body.get("max_tokens")
    if value is None:
        raise bad_request("Missing required parameter: 'max_tokens'.", param="max_tokens")
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise bad_request("Invalid 'max_tokens': expected a positive integer.", param="max_tokens")
