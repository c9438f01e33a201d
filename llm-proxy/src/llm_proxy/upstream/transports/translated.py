"""The translated path: LiteLLM turns the request into the provider's own API.

Used for every provider that does not speak the client's wire format (Gemini, Bedrock,
Vertex, Cohere, …) and for Anthropic Messages requests to non-Anthropic backends.
LiteLLM is imported in a worker thread, never on the event loop: the import takes
seconds, and on the loop it stalled every other tenant's requests meanwhile. A gateway
with a backend that needs translation for every request starts it at start-up (`warm`);
others on first use. Retries are the dispatcher's, so LiteLLM makes exactly one attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import httpx
import orjson

from llm_proxy.trace_context import trace_headers
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.errors import UpstreamError, parse_retry_after
from llm_proxy.upstream.parameters import forwardable
from llm_proxy.upstream.transports.base import Body, Reply, Stream
from llm_proxy.upstream.transports.streams import (
    anthropic_stream,
    first_frame,
    openai_stream,
    responses_stream,
    responses_usage,
)
from llm_proxy.usage import Usage

_litellm: ModuleType | None = None
log = logging.getLogger("llm_proxy.upstream")


def litellm_module() -> ModuleType:
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import litellm

        litellm.telemetry = False
        litellm.drop_params = True
        # Anthropic Messages to an OpenAI-format backend: chat/completions is what every
        # OpenAI-compatible server has; LiteLLM would otherwise pick /v1/responses.
        litellm.use_chat_completions_url_for_anthropic_messages = True
        _litellm = litellm
    return _litellm


class TranslatedTransport:
    def __init__(self) -> None:
        self._loading: asyncio.Future[ModuleType] | None = None

    def warm(self) -> None:
        """Start importing LiteLLM in a worker thread, if that has not started yet."""
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(_load_timed))

    async def _litellm(self) -> ModuleType:
        self.warm()
        assert self._loading is not None
        # Shielded: a request that is cancelled must not cancel the import others await.
        return await asyncio.shield(self._loading)

    async def close(self) -> None:
        return None

    async def chat(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        litellm = await self._litellm()
        params = _call_params(deployment, "chat", body)
        if stream:
            params["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        response = await _attempt(deployment, litellm.acompletion(**params))
        if not stream:
            return _reply_from_model(response)
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        return await first_frame(openai_stream(_dumped(response), wants_usage))

    async def embeddings(self, deployment: Deployment, body: Body) -> Reply:
        litellm = await self._litellm()
        response = await _attempt(
            deployment, litellm.aembedding(**_call_params(deployment, "embeddings", body))
        )
        return _reply_from_model(response)

    async def completions(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        # Fill-in-the-middle and echo mean nothing to a chat model: refuse rather than pretend.
        raise UpstreamError(
            400,
            f"The model '{body.get('model')}' cannot serve /v1/completions: its backend "
            f"'{deployment.name}' ({deployment.provider}) has no text completions endpoint. "
            "Use /v1/chat/completions, or a model served by an OpenAI-compatible backend.",
            kind="unsupported",
        )

    async def responses(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        """LiteLLM's Responses-to-chat bridge: the provider gets a chat request."""
        built_in = sorted(
            {str(t.get("type")) for t in body.get("tools") or () if t.get("type") != "function"}
        )
        if built_in:
            # Built-in tools run at OpenAI; a chat model behind the bridge has none of them.
            raise UpstreamError(
                400,
                f"The model '{body.get('model')}' cannot run the built-in tools "
                f"{', '.join(built_in)}: its backend '{deployment.name}' ({deployment.provider}) "
                "takes function tools only.",
                kind="unsupported",
            )
        litellm = await self._litellm()
        params = _call_params(deployment, "responses", body)
        params["use_chat_completions_api"] = True
        response = await _attempt(deployment, litellm.aresponses(**params))
        if not stream:
            data = _as_wire_response(response.model_dump(mode="json", exclude_none=True))
            usage = responses_usage(data.get("usage"))
            return Reply(body=orjson.dumps(data), usage=usage, model=data.get("model"))
        return await first_frame(responses_stream(_named_events(response)))

    async def messages(
        self, deployment: Deployment, body: Body, stream: bool, headers: dict[str, str]
    ) -> Reply | Stream:
        litellm = await self._litellm()
        params = _call_params(deployment, "messages", body)
        response = await _attempt(deployment, litellm.anthropic.messages.acreate(**params))
        if not stream:
            data = response if isinstance(response, dict) else response.model_dump()
            usage = data.get("usage") or {}
            return Reply(
                body=orjson.dumps(data),
                usage=Usage(usage.get("input_tokens") or 0, usage.get("output_tokens") or 0),
                model=data.get("model"),
            )
        return await first_frame(anthropic_stream(_as_bytes(response)))


def _load_timed() -> ModuleType:
    started = time.perf_counter()
    module = litellm_module()
    log.info("LiteLLM loaded in %.1f s (off the event loop)", time.perf_counter() - started)
    return module


def _call_params(deployment: Deployment, api: str, body: Body) -> dict[str, Any]:
    params = forwardable(api, body)
    params.update(
        model=deployment.litellm_model,
        # Self-hosted OpenAI-format servers take no key, but LiteLLM's OpenAI client
        # refuses to send a request without one.
        api_key=deployment.api_key or ("no-key" if deployment.forwards_openai else None),
        # The connect timeout short (a dead host is known in a second); LiteLLM hands
        # httpx's to the providers that take one, and the read timeout to the rest.
        timeout=httpx.Timeout(deployment.backend.timeout_s, connect=deployment.deadlines.connect_s),
        num_retries=0,
    )
    if deployment.backend.endpoint:
        params["api_base"] = deployment.backend.endpoint
    carried = trace_headers()
    if carried:
        params["extra_headers"] = carried
    return params


async def _attempt(deployment: Deployment, call: Any) -> Any:
    try:
        return await call
    except Exception as exc:
        raise _as_upstream_error(deployment, exc) from None


# Raised by LiteLLM's own code while it turns the request into the provider's, e.g. on a
# field of an unexpected shape: the request's fault, not the provider's, so it must not
# count against the deployment's health (a few such requests opened its circuit for all).
_TRANSLATION_ERRORS = (TypeError, AttributeError, KeyError, IndexError)


def _as_upstream_error(deployment: Deployment, exc: Exception) -> UpstreamError:
    litellm = litellm_module()
    message = f"{deployment.name}: {getattr(exc, 'message', None) or exc}"
    if isinstance(exc, _TRANSLATION_ERRORS):
        return UpstreamError(
            400, f"The request could not be sent to {deployment.provider}: {exc}", kind="http"
        )
    if isinstance(exc, litellm.Timeout):
        return UpstreamError(504, message, kind="timeout")
    if isinstance(exc, litellm.APIConnectionError):
        return UpstreamError(502, message, kind="connection")
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        return UpstreamError(502, message, kind="connection")
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    return UpstreamError(
        status, message, retry_after_s=parse_retry_after(headers.get("retry-after"))
    )


def _reply_from_model(response: Any) -> Reply:
    data = response.model_dump(exclude_none=False)
    data.pop("_hidden_params", None)
    usage = data.get("usage") or {}
    return Reply(
        body=orjson.dumps(data),
        usage=Usage(usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0),
        model=data.get("model"),
    )


async def _dumped(chunks: Any) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        yield b"data: " + orjson.dumps(chunk.model_dump(exclude_none=True)) + b"\n\n"
    yield b"data: [DONE]\n\n"


# Fields OpenAI's response object always carries, null or empty when unset; LiteLLM's model
# leaves the unset ones None, and fields OpenAI never sends as null must then go.
_RESPONSE_DEFAULTS: dict[str, Any] = {
    "error": None,
    "incomplete_details": None,
    "instructions": None,
    "metadata": {},
    "output": [],
    "parallel_tool_calls": True,
    "temperature": None,
    "tool_choice": "auto",
    "tools": [],
    "top_p": None,
}


_USAGE_DETAILS: dict[str, dict[str, int]] = {
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens_details": {"reasoning_tokens": 0},
}
# Within a response or an event: text parts and text events always carry these lists.
_PART_DEFAULTS: dict[str, dict[str, Any]] = {
    "output_text": {"annotations": [], "logprobs": []},
    "response.output_text.delta": {"logprobs": []},
    "response.output_text.done": {"logprobs": []},
}


def _as_wire_response(data: dict[str, Any]) -> dict[str, Any]:
    """A response object dumped from LiteLLM's model, as OpenAI sends it on the wire."""
    wire: dict[str, Any] = _with_part_defaults({**_RESPONSE_DEFAULTS, **data})
    # The bridge does not enforce a schema on arguments: the tools say so.
    wire["tools"] = [
        {"description": None, "strict": False, **tool} if tool.get("type") == "function" else tool
        for tool in wire["tools"]
    ]
    usage = wire.get("usage")
    if isinstance(usage, dict):
        for name, defaults in _USAGE_DETAILS.items():
            usage[name] = {**defaults, **(usage.get(name) or {})}
    return wire


def _with_part_defaults(value: Any) -> Any:
    if isinstance(value, list):
        return [_with_part_defaults(item) for item in value]
    if not isinstance(value, dict):
        return value
    defaults = _PART_DEFAULTS.get(value.get("type"), {})  # type: ignore[arg-type]
    return {**defaults, **{k: _with_part_defaults(v) for k, v in value.items()}}


async def _named_events(events: Any) -> AsyncIterator[bytes]:
    """LiteLLM's Responses stream events as the SSE frames OpenAI sends."""
    # A call's `...arguments.done` names its function, which LiteLLM leaves to the item.
    functions: dict[str, str] = {}
    async for event in events:
        data = _with_part_defaults(event.model_dump(mode="json", exclude_none=True))
        if isinstance(data.get("response"), dict):
            data["response"] = _as_wire_response(data["response"])
        item = data.get("item")
        if isinstance(item, dict) and item.get("type") == "function_call":
            functions[str(item.get("id"))] = str(item.get("name", ""))
        if data.get("type") == "response.function_call_arguments.done":
            data.setdefault("name", functions.get(str(data.get("item_id")), ""))
        kind = str(data.get("type", "")).encode()
        yield b"event: " + kind + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _as_bytes(pieces: Any) -> AsyncIterator[bytes]:
    async for piece in pieces:
        yield piece if isinstance(piece, bytes) else str(piece).encode()
