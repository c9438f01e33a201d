"""The fast path: forward to backends that already speak the client's wire format.

OpenAI-compatible backends (OpenAI, vLLM, Ollama, DeepSeek, Groq, …) get OpenAI
requests, and Anthropic gets Anthropic Messages, untranslated: one aiohttp request, the
model name swapped, usage read off the reply. Measured on this machine, this costs a
fraction of a millisecond of CPU where `litellm.acompletion` costs about 4 ms.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from llm_proxy.trace_context import trace_headers
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.errors import UpstreamError, parse_retry_after
from llm_proxy.upstream.parameters import forwardable
from llm_proxy.upstream.transports.base import Body, Reply, Stream
from llm_proxy.upstream.transports.streams import (
    anthropic_stream,
    error_message,
    first_frame,
    openai_stream,
    responses_stream,
    responses_usage,
)
from llm_proxy.usage import Usage

_ANTHROPIC_VERSION = "2023-06-01"


class PassthroughTransport:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created lazily so it binds to the running event loop.
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(
                connector=connector, json_serialize=lambda o: orjson.dumps(o).decode()
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def chat(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        return await self._openai(deployment, "chat", "/chat/completions", body, stream)

    async def _openai(
        self, deployment: Deployment, api: str, path: str, body: Body, stream: bool
    ) -> Reply | Stream:
        payload = {**forwardable(api, body), "model": deployment.backend.model}
        wants_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        if stream:
            # Always ask for usage so the stream can be settled; strip it if unasked.
            payload["stream_options"] = {
                **(body.get("stream_options") or {}),
                "include_usage": True,
            }
        response = await self._post(deployment, path, payload, _openai_headers(deployment), stream)
        if not stream:
            return await _openai_reply(response)
        return await first_frame(openai_stream(_body_chunks(response), wants_usage))

    async def embeddings(self, deployment: Deployment, body: Body) -> Reply:
        payload = {**forwardable("embeddings", body), "model": deployment.backend.model}
        response = await self._post(
            deployment, "/embeddings", payload, _openai_headers(deployment), False
        )
        return await _openai_reply(response)

    async def completions(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        # Text completions stream chunks of chat's envelope (choices, a usage chunk, [DONE]).
        return await self._openai(deployment, "completions", "/completions", body, stream)

    async def responses(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        payload = {**forwardable("responses", body), "model": deployment.backend.model}
        response = await self._post(
            deployment, "/responses", payload, _openai_headers(deployment), stream
        )
        if not stream:
            return await _responses_reply(response)
        return await first_frame(responses_stream(_body_chunks(response)))

    async def messages(
        self, deployment: Deployment, body: Body, stream: bool, headers: dict[str, str]
    ) -> Reply | Stream:
        payload = {**forwardable("messages", body), "model": deployment.backend.model}
        response = await self._post(
            deployment, "/v1/messages", payload, _anthropic_headers(deployment, headers), stream
        )
        if not stream:
            return await _anthropic_reply(response)
        return await first_frame(anthropic_stream(_body_chunks(response)))

    async def count_tokens(
        self, deployment: Deployment, body: Body, headers: dict[str, str]
    ) -> int:
        """Anthropic's own count of a Messages request's input tokens."""
        payload = {**forwardable("count_tokens", body), "model": deployment.backend.model}
        sent = _anthropic_headers(deployment, headers)
        response = await self._post(deployment, "/v1/messages/count_tokens", payload, sent, False)
        data, _ = await _read(response)
        count = data.get("input_tokens") if isinstance(data, dict) else None
        if not isinstance(count, int):
            raise UpstreamError(502, "upstream sent a malformed body", kind="malformed")
        return count

    async def _post(
        self,
        deployment: Deployment,
        path: str,
        payload: Body,
        headers: dict[str, str],
        stream: bool,
    ) -> aiohttp.ClientResponse:
        # A hung server accepts the connection and then says nothing: the dispatcher's
        # deadline covers the wait for the first byte, these the connect and a stall.
        deadlines = deployment.deadlines
        timeout = (
            _timeout(None, deadlines.connect_s, deadlines.stream_idle_s)
            if stream
            else _timeout(deployment.backend.timeout_s, deadlines.connect_s, None)
        )
        headers.update(trace_headers())
        try:
            response = await self.session.post(
                deployment.base_url + path,
                data=orjson.dumps(payload),
                headers=headers,
                timeout=timeout,
            )
        except TimeoutError:
            raise UpstreamError(504, f"{deployment.name}: timed out", kind="timeout") from None
        except aiohttp.ClientError as exc:
            raise UpstreamError(502, f"{deployment.name}: {exc}", kind="connection") from None
        if response.status >= 400:
            await _raise_for_status(deployment, response)
        return response


@functools.lru_cache(maxsize=256)
def _timeout(total: float | None, connect: float, read: float | None) -> aiohttp.ClientTimeout:
    """One immutable value per configured set of timeouts, not a new one per request."""
    return aiohttp.ClientTimeout(total=total, sock_connect=connect, sock_read=read)


def _anthropic_headers(deployment: Deployment, headers: dict[str, str]) -> dict[str, str]:
    sent = {
        "x-api-key": deployment.api_key or "",
        "anthropic-version": headers.get("anthropic-version", _ANTHROPIC_VERSION),
        "content-type": "application/json",
    }
    if "anthropic-beta" in headers:
        sent["anthropic-beta"] = headers["anthropic-beta"]
    return sent


def _openai_headers(deployment: Deployment) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if deployment.api_key:
        headers["authorization"] = f"Bearer {deployment.api_key}"
    return headers


async def _raise_for_status(deployment: Deployment, response: aiohttp.ClientResponse) -> None:
    try:
        body = await response.read()
    except (aiohttp.ClientError, TimeoutError):
        body = b""
    finally:
        response.release()
    message = error_message(body) or response.reason or "upstream error"
    raise UpstreamError(
        response.status,
        f"{deployment.name}: {message}",
        retry_after_s=parse_retry_after(response.headers.get("retry-after")),
        body=body,
    )


async def _read(response: aiohttp.ClientResponse) -> Any:
    try:
        raw = await response.read()
    except TimeoutError:
        raise UpstreamError(504, "upstream timed out", kind="timeout") from None
    except aiohttp.ClientError as exc:
        raise UpstreamError(502, f"upstream body lost: {exc}", kind="connection") from None
    finally:
        response.release()
    try:
        return orjson.loads(raw), raw
    except orjson.JSONDecodeError:
        raise UpstreamError(502, "upstream sent a malformed body", kind="malformed") from None


async def _openai_reply(response: aiohttp.ClientResponse) -> Reply:
    data, raw = await _read(response)
    if not isinstance(data, dict):
        raise UpstreamError(502, "upstream sent a malformed body", kind="malformed")
    usage = data.get("usage") or {}
    details = usage.get("prompt_tokens_details") or {}
    return Reply(
        body=raw,
        usage=Usage(
            usage.get("prompt_tokens") or 0,
            usage.get("completion_tokens") or 0,
            details.get("cached_tokens") or 0,
        ),
        model=data.get("model"),
    )


async def _responses_reply(response: aiohttp.ClientResponse) -> Reply:
    data, raw = await _read(response)
    if not isinstance(data, dict):
        raise UpstreamError(502, "upstream sent a malformed body", kind="malformed")
    return Reply(body=raw, usage=responses_usage(data.get("usage")), model=data.get("model"))


async def _anthropic_reply(response: aiohttp.ClientResponse) -> Reply:
    data, raw = await _read(response)
    if not isinstance(data, dict):
        raise UpstreamError(502, "upstream sent a malformed body", kind="malformed")
    usage = data.get("usage") or {}
    return Reply(
        body=raw,
        usage=Usage(
            usage.get("input_tokens") or 0,
            usage.get("output_tokens") or 0,
            usage.get("cache_read_input_tokens") or 0,
        ),
        model=data.get("model"),
    )


def _body_chunks(response: aiohttp.ClientResponse) -> AsyncIterator[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for chunk in response.content.iter_any():
                yield chunk
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError):
            return
        except TimeoutError:
            raise UpstreamError(504, "upstream stream stalled", kind="timeout") from None
        finally:
            response.release()

    return chunks()
