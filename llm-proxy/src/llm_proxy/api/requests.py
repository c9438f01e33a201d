"""Reading a client request: size limit, JSON, the fields every endpoint needs.

A body nested deeper than `MAX_DEPTH` is refused as it is read: nothing the APIs document
comes near it, and the serializers later stages use (the cache key, token counting, the
JSON encoders) stop at a few hundred levels with an error that would be a 500.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request

from llm_proxy.api.body_limit import BodyTooLarge
from llm_proxy.api.content import check_anthropic_messages, check_openai_messages
from llm_proxy.ids import new_request_id
from llm_proxy.pipeline.authorize import default_model
from llm_proxy.pipeline.context import Api, RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request

MAX_DEPTH = 64
# OpenAI's own bound on `n`, the number of choices.
_MAX_CHOICES = 128
# A client's x-request-id is kept up to this long (the spend log's column).
CLIENT_REQUEST_ID_CHARS = 128
# Only these request headers matter to the pipeline; the rest are never looked at.
_KEPT_HEADERS = frozenset(
    name.encode("latin-1")
    for name in (
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
        # identify: the mTLS client the certificate matched (api.client_cert).
        ":client-certificate",
        # the optimizer: how long its approaches may take.
        "x-gateway-deadline-ms",
        "cache-control",
        "x-gateway-cache",
        # policies: the regions a request narrows itself to, and its priority class.
        "x-gateway-region",
        "x-gateway-priority",
    )
)


def new_context(request: Request, api: Api) -> RequestContext:
    """A context from the headers alone, so the caller is known before the body is read.

    The request id is always the gateway's own: a client's `x-request-id` could repeat
    another request's (or another team's) and so merge or hide spend records. It is kept,
    clipped, as the correlation id.
    """
    headers: dict[str, str] = {}
    # One pass over the raw headers (ASGI gives the names lower-cased); the first of a
    # repeated header counts, as with Starlette's `Headers`.
    for name, value in request.scope["headers"]:
        if name in _KEPT_HEADERS:
            headers.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    correlation = headers.pop("x-request-id", None)
    return RequestContext(
        request_id=new_request_id(),
        api=api,
        body={},
        headers=headers,
        client_request_id=correlation[:CLIENT_REQUEST_ID_CHARS] if correlation else None,
    )


async def read_body(ctx: RequestContext, request: Request) -> None:
    """Read and check the body; its size is bounded as it is read (`api.body_limit`)."""
    try:
        raw = await _body_of(request)
    except BodyTooLarge as exc:
        raise GatewayError(413, exc.detail, headers=dict(exc.headers or {})) from None
    body = ctx.body = _parse_json(raw)
    headers = ctx.headers
    default_model(body, ctx.identity)
    # A prompt template may supply the model; its stage checks that one is there.
    if "prompt_id" not in body or body.get("model") is not None:
        ctx.requested_model = _required_str(body, "model")
    ctx.stream = _optional_bool(body, "stream")
    tags = ctx.metadata.get("tags")
    ctx.tags = [str(t) for t in tags] if isinstance(tags, list) else []
    session = headers.get("x-session-id") or ctx.metadata.get("session_id")
    ctx.session_id = str(session) if session else None


async def _body_of(request: Request) -> bytes:
    """The whole body, read as `Request.body` reads it (a client gone first is
    ClientDisconnect), without its async generator: a fair part of a small request's read."""
    chunks: list[bytes] = []
    while True:
        message = await request.receive()
        if message["type"] == "http.request":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect


def _parse_json(raw: bytes) -> dict[str, Any]:
    if not raw:
        raise bad_request("The request body is empty; send a JSON object.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    if _nested_deeper_than(body, MAX_DEPTH):
        raise bad_request(f"The request body is nested more than {MAX_DEPTH} levels deep.")
    return body


def _nested_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest past `limit` levels (iterative: no recursion limit)."""
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, dict | list):
                if depth >= limit:
                    return True
                pending.append((child, depth + 1))
    return False


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


def require_chat(body: dict[str, Any]) -> None:
    """A chat completion: its messages and their parts, stream options and choice count."""
    require_messages(body)
    check_openai_messages(body["messages"])
    options = body.get("stream_options")
    if options is not None:
        if not isinstance(options, dict):
            raise bad_request("Invalid 'stream_options': expected an object.", "stream_options")
        if not isinstance(options.get("include_usage", False), bool):
            raise bad_request(
                "Invalid 'stream_options.include_usage': expected a boolean.",
                param="stream_options.include_usage",
            )
    choices = body.get("n")
    if choices is not None and (
        not isinstance(choices, int)
        or isinstance(choices, bool)
        or not 1 <= choices <= _MAX_CHOICES
    ):
        raise bad_request(f"Invalid 'n': expected an integer from 1 to {_MAX_CHOICES}.", param="n")


def require_anthropic(body: dict[str, Any]) -> None:
    """An Anthropic message: its messages, their content blocks, and max_tokens."""
    require_messages(body)
    check_anthropic_messages(body)
    require_max_tokens(body)


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
