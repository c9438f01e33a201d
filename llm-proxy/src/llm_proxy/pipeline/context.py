"""The state of one request as it travels the pipeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from llm_proxy.guard.hits import Hit
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.limits.reservation import Reservation
from llm_proxy.upstream.dispatcher import Dispatch
from llm_proxy.upstream.transports.base import Usage

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from llm_proxy.optimizer.delegation import Delegation
    from llm_proxy.optimizer.fanout import OptimizerRun

Api = Literal["chat", "completions", "embeddings", "messages", "responses"]


@dataclass(frozen=True, slots=True)
class ScopeLimits:
    """Rate limits and budgets of one scope the caller belongs to: its key, team or user.

    Filled by `identify` from the key, team and user records; enforced by the limits and
    budget stages. None means no limit on that dimension.
    """

    scope: Literal["key", "team", "user"]
    id: str
    rpm: int | None = None
    tpm: int | None = None
    input_tpm: int | None = None
    output_tpm: int | None = None
    tpd: int | None = None
    budget_usd_daily: float | None = None
    budget_usd_monthly: float | None = None
    budget_tokens_daily: int | None = None
    budget_tokens_monthly: int | None = None
    alert_thresholds: tuple[float, ...] = (0.8, 1.0)
    auto_downgrade_to: str | None = None


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling, as far as the pipeline's later stages need to know."""

    is_master: bool = False
    key_id: str | None = None
    key_prefix: str | None = None
    team_id: str | None = None
    user_id: str | None = None
    # Empty: every model is allowed.
    allowed_models: tuple[str, ...] = ()
    default_model: str | None = None
    max_tokens_cap: int | None = None
    scopes: tuple[ScopeLimits, ...] = ()
    # The optimizer approaches each of the key's and team's metadata lists (one tuple per
    # scope that lists any): a request may use an approach every list names.
    optimizer_approaches: tuple[tuple[str, ...], ...] = ()

    @property
    def caller(self) -> str:
        """Whose requests these are, for counting failures per caller: the key, or master."""
        return self.key_id or "master"


@dataclass(frozen=True, slots=True)
class RouteDecision:
    group: str
    model: str
    router: str | None
    score: float | None
    threshold: float | None
    latency_ms: float
    # Why the default answered instead of the router's choice, if it did.
    fallback_reason: str | None = None

    def header(self) -> str:
        if self.fallback_reason is not None:
            return f"group={self.group}; model={self.model}; fallback={self.fallback_reason}"
        return (
            f"group={self.group}; model={self.model}; router={self.router}; "
            f"score={self.score:.4f}; threshold={self.threshold:.4f}"
        )


@dataclass(frozen=True, slots=True)
class PromptUse:
    """Which template a request was made from, for the response header and the spend log."""

    name: str
    version: int
    variant: str | None
    unused: tuple[str, ...]

    def header(self) -> str:
        return f"{self.name}@{self.version}"


@dataclass(slots=True)
class RequestContext:
    # The gateway's own id (`req_…`), unique per request: what the spend log dedups on.
    request_id: str
    api: Api
    body: dict[str, Any]
    headers: dict[str, str]
    # The caller's x-request-id, clipped: a correlation field, never an identity.
    client_request_id: str | None = None
    started: float = field(default_factory=time.perf_counter)
    identity: Identity = field(default_factory=Identity)
    requested_model: str = ""
    stream: bool = False
    session_id: str | None = None
    tags: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    route: RouteDecision | None = None
    # Per-token (input, output) prices of an auto group's strong model, for the savings report.
    strong_prices: tuple[float, float] | None = None
    # The dimension (rpm, tpm, …) of the rate limit that refused the request, if one did.
    limited_by: str | None = None
    estimated_tokens: int = 0
    dispatch: Dispatch = field(default_factory=Dispatch)
    usage: Usage = field(default_factory=Usage)
    status: int = 200
    error: str | None = None
    # Milliseconds per pipeline stage, for the spend log's waterfall (telemetry/stages.py).
    stage_ms: dict[str, float] = field(default_factory=dict)
    # From arrival to the first streamed byte being ready; None for complete answers.
    ttft_ms: float | None = None
    # The request's root span, only when tracing is on, and its trace id.
    span: Span | None = None
    trace_id: str | None = None
    # The cache's verdict, sent as x-gateway-cache (hit, semantic;sim=0.97, miss, bypass),
    # and on a hit what the answer cost when it was first made: the spend log's saving.
    cache_result: str | None = None
    cost_saved_usd: float = 0.0
    # What the limits and budget stages hold on their counters until settle.
    reservation: Reservation = field(default_factory=Reservation)
    # OpenAI's x-ratelimit-* headers for the response, from the limits stage.
    rate_limit_headers: dict[str, str] = field(default_factory=dict)
    # The model the client asked for, when a budget or rate limit moved it to a cheaper one.
    downgraded_from: str | None = None
    # An optimizer run this request started (its approaches, then what its sub-calls used),
    # or, on a sub-call of one, the delegated credential it came with.
    optimizer: OptimizerRun | None = None
    delegation: Delegation | None = None
    # What the guard stages found and did (never the text), and the request's placeholders.
    guard_hits: list[Hit] = field(default_factory=list)
    redactor: Redactor | None = None
    # The prompt template the request was made from, if it named one.
    prompt: PromptUse | None = None
    # The tools the answer called, by name: a session's steps show them.
    tool_calls: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.body.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def model_to_route(self) -> str:
        """The router-service's choice for an auto group, else what the client asked for."""
        return self.route.model if self.route is not None else self.requested_model

    def overhead_ms(self) -> float:
        return max(0.0, (time.perf_counter() - self.started - self.dispatch.upstream_s) * 1000)
