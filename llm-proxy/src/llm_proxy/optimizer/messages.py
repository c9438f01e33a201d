"""Anthropic Messages requests through the optimizer, by LiteLLM's translation.

The optimizer speaks OpenAI's chat completions. A `/v1/messages` request that names an
approach goes to it translated by LiteLLM's Anthropic adapter (the one behind Messages
requests to OpenAI-format backends), and its answer comes back translated by the same
adapter: a message body, or Anthropic's stream events. The keep-alive comments sent while
the sub-calls run pass on unchanged (SSE comments, which Anthropic's clients skip too),
so a streamed request hears from the gateway before its answer exists. LiteLLM is loaded
off the event loop, on first use, and never for a gateway that serves no such request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.upstream.parameters import forwardable
from llm_proxy.upstream.transports import sse
from llm_proxy.upstream.transports.translated import litellm_module


@dataclass(frozen=True, slots=True)
class Translated:
    """A Messages request as the optimizer takes it, and what the answer needs back."""

    chat: dict[str, Any]
    # Tool names LiteLLM shortened to OpenAI's 64 characters, by their shortened name.
    tool_names: dict[str, str]


class MessagesTranslation:
    def __init__(self) -> None:
        self._loading: asyncio.Future[Any] | None = None

    async def to_chat(self, body: dict[str, Any]) -> Translated:
        """The request's documented fields (none of the gateway's) as a chat request."""
        adapter = await self._adapter()
        chat, tool_names = adapter.translate_anthropic_to_openai(forwardable("messages", body))
        return Translated(dict(chat), dict(tool_names))

    async def reply(self, translated: Translated, answer: bytes) -> bytes:
        """The optimizer's chat completion as an Anthropic message."""
        adapter = await self._adapter()
        completion = litellm_module().ModelResponse(**orjson.loads(answer))
        message = adapter.translate_openai_response_to_anthropic(completion, translated.tool_names)
        return orjson.dumps(message)

    async def stream(
        self, translated: Translated, events: AsyncIterator[bytes], model: str
    ) -> AsyncIterator[bytes]:
        """The optimizer's SSE as Anthropic's: comments first as they come, then the
        answer's chunks through LiteLLM's stream adapter; its error as Anthropic's."""
        frames = _frames(events)
        try:
            async for frame in frames:
                data = sse.data_of(frame)
                if data is None:
                    yield frame + b"\n\n"
                    continue
                first = orjson.loads(data)
                if isinstance(first, dict) and "error" in first:
                    yield _error_event(first["error"])
                    return
                wrapper = _wrapper_class()(
                    completion_stream=_chunks(first, frames),
                    model=model,
                    tool_name_mapping=translated.tool_names,
                )
                async for event in wrapper.async_anthropic_sse_wrapper():
                    yield event
                return
        finally:
            await frames.aclose()
            close = getattr(events, "aclose", None)
            if close is not None:
                await close()

    async def _adapter(self) -> Any:
        if self._loading is None:
            self._loading = asyncio.ensure_future(asyncio.to_thread(_load_adapter))
        # Shielded: a request that is cancelled must not cancel the import others await.
        return await asyncio.shield(self._loading)


def _load_adapter() -> Any:
    litellm_module()
    from litellm.llms.anthropic.messages.adapters.transformation import (
        LiteLLMAnthropicMessagesAdapter,
    )

    return LiteLLMAnthropicMessagesAdapter()


def _wrapper_class() -> Any:
    from litellm.llms.anthropic.messages.adapters.streaming_iterator import (
        AnthropicStreamWrapper,
    )

    return AnthropicStreamWrapper


async def _frames(events: AsyncIterator[bytes]) -> AsyncGenerator[bytes, None]:
    async for batch in sse.frame_batches(events):
        for frame in batch:
            yield frame


async def _chunks(first: dict[str, Any], frames: AsyncIterator[bytes]) -> AsyncIterator[Any]:
    """The answer's chat chunks as LiteLLM's stream adapter reads them, to [DONE]."""
    chunk = litellm_module().ModelResponseStream
    yield chunk(**first)
    async for frame in frames:
        data = sse.data_of(frame)
        if data is None:
            continue  # the run's summary comment: the headers already left
        if data == b"[DONE]":
            return
        yield chunk(**orjson.loads(data))


def _error_event(error: Any) -> bytes:
    """The optimizer's error (a failed run) as Anthropic streams one."""
    message = str(error.get("message") if isinstance(error, dict) else error)
    return b"event: error\ndata: " + GatewayError(502, message).anthropic_body() + b"\n\n"
