"""The seam between the pipeline and the wire: "send this request to this deployment".

The pipeline does not know whether LiteLLM translates the request or the fast path
forwards it untouched; both return these types and raise UpstreamError.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from llm_proxy.upstream.deployment import Deployment
from llm_proxy.usage import Usage

Body = dict[str, Any]


@dataclass(slots=True)
class Reply:
    """A complete (non-streamed) answer: the client-format body and what it cost."""

    body: bytes
    usage: Usage
    model: str | None = None
    # The answer as it may be kept (a stored response): what the guard redacted stays
    # redacted here, also when `body` has the originals restored for the client.
    kept: bytes | None = None


class Frames(bytes):
    """SSE frames as the client gets them, each beside its JSON payload as the transport decoded it.

    The transport parses every frame anyway (for usage); a later stage that reads the frames
    (the guard's stream window) takes `raws` (each frame's bytes) and `payloads` (the i-th
    frame's payload) instead of parsing them again. `None` stands for a frame without a JSON
    payload (`[DONE]`). A stream's first piece is one read's frames; the later ones are
    gathered as `Stream.gather_s` asks. A frame that only carries the next text of the text
    its stream's previous text frame carried (an OpenAI chunk's one choice at index 0, no
    finish, no tool calls; an Anthropic text delta of the same block; a Responses text delta
    of the same part) has that text (a `str`) for its payload: the transport reads it while
    it has the event, so the reader need not look into it again, and the event dies at once.
    """

    raws: list[bytes]
    payloads: list[Any]

    @classmethod
    def of(cls, raws: list[bytes], payloads: list[Any]) -> Frames:
        frames = cls(raws[0] if len(raws) == 1 else b"".join(raws))
        frames.raws = raws
        frames.payloads = payloads
        return frames


@dataclass(slots=True)
class Stream:
    """An answer whose first byte has arrived; `events` yields SSE frames for the client.

    `usage` fills in as the stream goes; `completed` turns true when the provider ended
    it properly (OpenAI's [DONE], Anthropic's message_stop).
    """

    events: AsyncIterator[bytes]
    usage: Usage = field(default_factory=Usage)
    model: str | None = None
    completed: bool = False
    ttft_s: float | None = None
    # The whole answer, when the stream ends with one (the Responses API's final event).
    final: dict[str, Any] | None = None
    # The tools the answer calls, by name, as their calls begin.
    tool_calls: list[str] = field(default_factory=list)
    # Set by a stage that reads the frames (the guard's windows): from then on the transport
    # yields `Frames`, each with every frame read until this many seconds have passed since
    # its last piece (checked as each read comes: a slow stream waits for no batch) or the
    # stream has ended, so such a stage pays its per-piece costs once per batch rather than
    # once per read. None: nobody reads them, and after its first piece the stream yields
    # each read's frames as plain bytes (building `Frames` costs a copy).
    gather_s: float | None = None


class Transport(Protocol):
    async def chat(self, deployment: Deployment, body: Body, stream: bool) -> Reply | Stream: ...

    async def embeddings(self, deployment: Deployment, body: Body) -> Reply: ...

    async def completions(
        self, deployment: Deployment, body: Body, stream: bool
    ) -> Reply | Stream: ...

    async def responses(
        self, deployment: Deployment, body: Body, stream: bool
    ) -> Reply | Stream: ...

    async def messages(
        self, deployment: Deployment, body: Body, stream: bool, headers: dict[str, str]
    ) -> Reply | Stream: ...

    async def close(self) -> None: ...
