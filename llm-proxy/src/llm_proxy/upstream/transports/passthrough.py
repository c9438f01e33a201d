"""The fast path: forward to backends that already speak the client's wire format.

OpenAI-compatible backends (OpenAI, vLLM, Ollama, DeepSeek, Groq, …) get OpenAI
requests, and Anthropic gets Anthropic Messages, untranslated: one aiohttp request, the
model name swapped, usage read off the reply. Measured on this machine, this costs a
fraction of a millisecond of CPU where `litellm.acompletion` costs about 4 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import orjson

from llm_proxy.timeouts import Timeouts
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
T = TypeVar("T")


class PassthroughTransport:
    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        # Complete answers' deadlines, by timeout_s (see `_Deadline`).
        self._deadlines: dict[float, Timeouts[_Deadline]] = {}

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
        headers = _openai_headers(deployment)
        if not stream:
            return await self._complete(deployment, path, payload, headers, _openai_reply)
        response = await self._post(deployment, path, payload, headers, stream)
        return await first_frame(openai_stream(_body_chunks(response), wants_usage))

    async def embeddings(self, deployment: Deployment, body: Body) -> Reply:
        payload = {**forwardable("embeddings", body), "model": deployment.backend.model}
        headers = _openai_headers(deployment)
        return await self._complete(deployment, "/embeddings", payload, headers, _openai_reply)

    async def completions(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        # Text completions stream chunks of chat's envelope (choices, a usage chunk, [DONE]).
        return await self._openai(deployment, "completions", "/completions", body, stream)

    async def responses(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream:
        payload = {**forwardable("responses", body), "model": deployment.backend.model}
        headers = _openai_headers(deployment)
        if not stream:
            return await self._complete(
                deployment, "/responses", payload, headers, _responses_reply
            )
        response = await self._post(deployment, "/responses", payload, headers, stream)
        return await first_frame(responses_stream(_body_chunks(response)))

    async def messages(
        self, deployment: Deployment, body: Body, stream: bool, headers: dict[str, str]
    ) -> Reply | Stream:
        payload = {**forwardable("messages", body), "model": deployment.backend.model}
        sent = _anthropic_headers(deployment, headers)
        if not stream:
            return await self._complete(deployment, "/v1/messages", payload, sent, _anthropic_reply)
        response = await self._post(deployment, "/v1/messages", payload, sent, stream)
        return await first_frame(anthropic_stream(_body_chunks(response)))

    async def count_tokens(
        self, deployment: Deployment, body: Body, headers: dict[str, str]
    ) -> int:
        """Anthropic's own count of a Messages request's input tokens."""
        payload = {**forwardable("count_tokens", body), "model": deployment.backend.model}
        sent = _anthropic_headers(deployment, headers)
        return await self._complete(
            deployment, "/v1/messages/count_tokens", payload, sent, _input_tokens
        )

    async def _complete(
        self,
        deployment: Deployment,
        path: str,
        payload: Body,
        headers: dict[str, str],
        read: Callable[[aiohttp.ClientResponse, _Deadline], Awaitable[T]],
    ) -> T:
        """A complete answer, sent and `read` within the backend's timeout_s."""
        deadline = _Deadline(self._deadlines_of(deployment.backend.timeout_s))
        try:
            response = await self._post(deployment, path, payload, headers, False, deadline)
            return await read(response, deadline)
        finally:
            deadline.stop()

    def _deadlines_of(self, timeout_s: float) -> Timeouts[_Deadline]:
        deadlines = self._deadlines.get(timeout_s)
        loop = asyncio.get_running_loop()
        if deadlines is None or deadlines.loop is not loop:
            deadlines = self._deadlines[timeout_s] = Timeouts(loop, timeout_s, _Deadline.expire)
        return deadlines

    async def _post(
        self,
        deployment: Deployment,
        path: str,
        payload: Body,
        headers: dict[str, str],
        stream: bool,
        deadline: _Deadline | None = None,
    ) -> aiohttp.ClientResponse:
        # A hung server accepts the connection and then says nothing: the dispatcher's
        # deadline covers the wait for the first byte, these the connect and a stall,
        # `deadline` a complete answer's whole exchange.
        deadlines = deployment.deadlines
        timeout = _timeout(None, deadlines.connect_s, deadlines.stream_idle_s if stream else None)
        headers.update(trace_headers())
        try:
            with deadline or _NO_DEADLINE:
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
            await _raise_for_status(deployment, response, deadline or _NO_DEADLINE)
        return response


class _Deadline:
    """A complete answer's timeout_s, from sending the request to its body's last byte, as
    aiohttp's `total` timeout had it; but the requests with the same timeout share one
    timer (`llm_proxy.timeouts`) where aiohttp made and cancelled one per request. At the
    deadline the request's task is cancelled, and the wait it was in (`with deadline:`)
    raises TimeoutError instead, as aiohttp's did; a cancellation from elsewhere stays one."""

    __slots__ = ("_cancelling", "_deadlines", "_expired", "_task")

    def __init__(self, deadlines: Timeouts[_Deadline]) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._cancelling = task.cancelling()
        self._expired = False
        self._deadlines = deadlines
        deadlines.start(self)

    def expire(self) -> None:
        self._expired = True
        self._task.cancel()

    def stop(self) -> None:
        self._deadlines.stop(self)

    def __enter__(self) -> None:
        if self._expired:
            raise TimeoutError

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # Ours only if nothing else cancelled the task meanwhile.
        if (
            kind is asyncio.CancelledError
            and self._expired
            and self._task.uncancel() <= self._cancelling
        ):
            raise TimeoutError from error


# What a stream's waits run in: its stalls are aiohttp's sock_read timeout.
_NO_DEADLINE = contextlib.nullcontext()


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


async def _raise_for_status(
    deployment: Deployment, response: aiohttp.ClientResponse, deadline: AbstractContextManager[None]
) -> None:
    try:
        with deadline:
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


async def _read(response: aiohttp.ClientResponse, deadline: _Deadline) -> Any:
    try:
        with deadline:
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


async def _input_tokens(response: aiohttp.ClientResponse, deadline: _Deadline) -> int:
    data, _ = await _read(response, deadline)
    count = data.get("input_tokens") if isinstance(data, dict) else None
    if not isinstance(count, int):
        raise UpstreamError(502, "upstream sent a malformed body", kind="malformed")
    return count


async def _openai_reply(response: aiohttp.ClientResponse, deadline: _Deadline) -> Reply:
    data, raw = await _read(response, deadline)
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


async def _responses_reply(response: aiohttp.ClientResponse, deadline: _Deadline) -> Reply:
    data, raw = await _read(response, deadline)
    if not isinstance(data, dict):
        raise UpstreamError(502, "upstream sent a malformed body", kind="malformed")
    return Reply(body=raw, usage=responses_usage(data.get("usage")), model=data.get("model"))


async def _anthropic_reply(response: aiohttp.ClientResponse, deadline: _Deadline) -> Reply:
    data, raw = await _read(response, deadline)
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
