"""The state of one request as it travels the pipeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

from llm_proxy.upstream.dispatcher import Dispatch
from llm_proxy.upstream.transports.base import Usage

Api = Literal["chat", "embeddings", "messages"]


@dataclass(slots=True)
class RequestContext:
    request_id: str
    api: Api
    body: dict[str, Any]
    headers: dict[str, str]
    started: float = field(default_factory=time.perf_counter)
    requested_model: str = ""
    stream: bool = False
    session_id: str | None = None
    tags: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    estimated_tokens: int = 0
    dispatch: Dispatch = field(default_factory=Dispatch)
    usage: Usage = field(default_factory=Usage)
    status: int = 200
    error: str | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.body.get("metadata")
        return value if isinstance(value, dict) else {}

    def overhead_ms(self) -> float:
        return max(0.0, (time.perf_counter() - self.started - self.dispatch.upstream_s) * 1000)
