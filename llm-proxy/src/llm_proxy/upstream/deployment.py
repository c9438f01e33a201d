"""A deployment at run time: its backend config, resolved secret, health and load."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from llm_proxy.config.models import OPENAI_COMPATIBLE, RESPONSES_NATIVE, Backend, Deadlines
from llm_proxy.prices import Prices
from llm_proxy.upstream.health import DeploymentHealth

_OPENAI_BASE = "https://api.openai.com/v1"
_ANTHROPIC_BASE = "https://api.anthropic.com"

# The wire format a request is in: OpenAI's chat/completions/embeddings, Anthropic Messages,
# or OpenAI's Responses API.
Wire = Literal["openai", "anthropic", "responses"]


class MinuteWindow:
    """Requests and tokens in the last `window_s` (60 s unless the backend's
    `quota_window_s` says otherwise), for max_rpm/max_tpm and the usage strategy."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        # (when, tokens, requests): a request, or a settle's correction of its estimate.
        self._events: deque[tuple[float, int, int]] = deque()
        self.requests = 0
        self.tokens = 0

    def add(self, tokens: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._expire(now)
        self._events.append((now, tokens, 1))
        self.requests += 1
        self.tokens += tokens

    def adjust(self, tokens: int, now: float | None = None) -> None:
        """Settle an estimate: the real token count replaces the reserved one. The
        correction leaves the window too (kept only in the total, it would stay forever)."""
        if tokens:
            self._events.append((time.monotonic() if now is None else now, tokens, 0))
            self.tokens += tokens

    def current(self, now: float | None = None) -> tuple[int, int]:
        self._expire(time.monotonic() if now is None else now)
        return self.requests, self.tokens

    def _expire(self, now: float) -> None:
        while self._events and now - self._events[0][0] > self.window_s:
            _, tokens, requests = self._events.popleft()
            self.requests -= requests
            self.tokens -= tokens


@dataclass(eq=False)
class Deployment:
    backend: Backend
    api_key: str | None
    price: Prices
    health: DeploymentHealth
    in_flight: int = 0
    usage: MinuteWindow = field(default_factory=MinuteWindow)
    # The backend's deadlines, else routing's: the transports take connect_s and
    # stream_idle_s from here (a group's own deadlines apply to first bytes only).
    deadlines: Deadlines = field(default_factory=Deadlines)

    @property
    def name(self) -> str:
        return self.backend.name

    @property
    def provider(self) -> str:
        return self.backend.provider

    @property
    def forwards_openai(self) -> bool:
        """The fast path: the backend speaks OpenAI's wire format, so no translation."""
        return self.backend.provider in OPENAI_COMPATIBLE

    @property
    def forwards_anthropic(self) -> bool:
        return self.backend.provider == "anthropic"

    def speaks(self, wire: Wire) -> bool:
        """Whether the backend takes requests in `wire` untranslated (the fast path)."""
        if wire == "anthropic":
            return self.forwards_anthropic
        if wire == "responses":
            return self.backend.provider in RESPONSES_NATIVE
        return self.forwards_openai

    @property
    def base_url(self) -> str:
        if self.backend.endpoint:
            return self.backend.endpoint.rstrip("/")
        return _ANTHROPIC_BASE if self.forwards_anthropic else _OPENAI_BASE

    @property
    def litellm_model(self) -> str:
        """The model name LiteLLM routes on: provider prefix + the provider's model id."""
        provider = "openai" if self.forwards_openai else self.backend.provider
        return f"{provider}/{self.backend.model}"

    def at_capacity(
        self, now: float | None = None, headroom: float = 1.0, incoming: int = 0
    ) -> bool:
        """Full at `headroom` of its limits (a priority class below `high` sees only the
        share not reserved for `high`) for a request of `incoming` estimated tokens: one
        that would take the window past max_tpm waits, unless the window is empty (else a
        request larger than a whole window's quota could never go)."""
        backend = self.backend
        if backend.max_concurrency is not None and self.in_flight >= (
            backend.max_concurrency * headroom
        ):
            return True
        if backend.max_rpm is None and backend.max_tpm is None:
            return False
        requests, tokens = self.usage.current(now)
        # The per-minute limits, scaled to the window they are counted over.
        scale = headroom * self.usage.window_s / 60.0
        if backend.max_rpm is not None and requests >= backend.max_rpm * scale:
            return True
        if backend.max_tpm is None:
            return False
        return tokens >= backend.max_tpm * scale or (
            tokens > 0 and tokens + incoming > backend.max_tpm * scale
        )
