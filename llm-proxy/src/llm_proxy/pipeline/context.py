"""The state of one request as it travels the pipeline: one typed object, no string keys.

Each stage reads what earlier stages left here and adds its own findings. The prompt is
counted once (`prompt_tokens`, on first need) and every estimate derives from that count:
the limits' and budgets' reservations, the deployment's load, the context-window check,
and the prompt charged for when the upstream reports no usage.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from llm_proxy.guard.hits import Hit
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.identity import Identity
from llm_proxy.limits.reservation import Reservation
from llm_proxy.pipeline.tokens import count_request_tokens, output_cap
from llm_proxy.prices import Prices
from llm_proxy.upstream.admission import Ticket
from llm_proxy.upstream.dispatcher import Dispatch
from llm_proxy.usage import Usage

if TYPE_CHECKING:
    from llm_proxy.optimizer.delegation import Delegation
    from llm_proxy.optimizer.fanout import OptimizerRun
    from llm_proxy.pipeline.residency import Residency
    from llm_proxy.pipeline.shadow import ShadowWatch
    from llm_proxy.telemetry.tracing import RequestTrace

Api = Literal["chat", "completions", "embeddings", "messages", "responses"]

# Who a request is before `identify` has run. One shared value (an Identity is frozen):
# a fresh one per request cost more than the rest of the context's defaults together.
_UNIDENTIFIED = Identity()


@dataclass(frozen=True, slots=True)
class Escalation:
    """A cascade's first answer, found insufficient: why, by whom, and what it used."""

    signal: str
    model: str
    usage: Usage
    cost_usd: float


# The router name of a cascade's decisions (no router-service is asked).
CASCADE = "cascade"


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
    # A cascade that escalated to `model`, from its weak model's answer.
    escalation: Escalation | None = None

    def header(self) -> str:
        if self.fallback_reason is not None:
            return f"group={self.group}; model={self.model}; fallback={self.fallback_reason}"
        if self.router == CASCADE:
            step = self.escalation
            if step is None:
                return f"group={self.group}; model={self.model}; router=cascade; escalated=no"
            return (
                f"group={self.group}; model={self.model}; router=cascade; "
                f"escalated={step.signal}; from={step.model}; first_cost_usd={step.cost_usd:.8f}"
            )
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
    identity: Identity = _UNIDENTIFIED
    requested_model: str = ""
    stream: bool = False
    session_id: str | None = None
    tags: list[str] = field(default_factory=list)
    plan: list[str] = field(default_factory=list)
    # The regions it may be served in (policies.residency, the request's own); None: any.
    residency: Residency | None = None
    # Its priority class and fair-share team, when policies queue requests (else None).
    ticket: Ticket | None = None
    route: RouteDecision | None = None
    # Per-token (input, output) prices of an auto group's strong model, for the savings report.
    strong_prices: Prices | None = None
    # The dimension (rpm, tpm, …) of the rate limit that refused the request, if one did.
    limited_by: str | None = None
    dispatch: Dispatch = field(default_factory=Dispatch)
    # What the answer is charged for (`cost.charged_usage`) and its cost, set at settle.
    usage: Usage = field(default_factory=Usage)
    cost_usd: float = 0.0
    status: int = 200
    error: str | None = None
    # Milliseconds per pipeline stage, for the spend log's waterfall (telemetry/stages.py).
    stage_ms: dict[str, float] = field(default_factory=dict)
    # From arrival to the first streamed byte being ready; None for complete answers.
    ttft_ms: float | None = None
    # The request's root span, only when tracing is on, and its trace id.
    span: RequestTrace | None = None
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
    _prompt_tokens: int | None = field(default=None, repr=False)
    # What the guard stages found and did (never the text), and the request's placeholders.
    guard_hits: list[Hit] = field(default_factory=list)
    redactor: Redactor | None = None
    # A tenant that opted in to prompt logging: the answer's text as kept (redacted by the
    # policies, nothing restored), read when the record is made; then the prompt and
    # answer as the record keeps them (`guard.prompt_log`: redacted, then sealed).
    logged_answer: Callable[[], str] | None = None
    sealed_prompt: dict[str, str] | None = None
    # The prompt template the request was made from, if it named one.
    prompt: PromptUse | None = None
    # The tools the answer called, by name: a session's steps show them.
    tool_calls: list[str] = field(default_factory=list)
    # An auto request due a shadow run (its answer is kept for the judge), or, on a
    # shadow call, the request it judges.
    shadow: ShadowWatch | None = None
    shadow_of: str | None = None

    @property
    def metadata(self) -> dict[str, Any]:
        value = self.body.get("metadata")
        return value if isinstance(value, dict) else {}

    @property
    def prompt_tokens(self) -> int:
        """The prompt's tokens (tools, system blocks, images included), counted once."""
        return self.count_prompt()

    def count_prompt(self) -> int:
        """`prompt_tokens` as a function, for a reader that may not need it."""
        if self._prompt_tokens is None:
            self._prompt_tokens = count_request_tokens(self.api, self.body)
        return self._prompt_tokens

    def body_changed(self) -> None:
        """A stage rewrote the prompt (a template, a guard): count it again on next need."""
        self._prompt_tokens = None

    @property
    def output_cap(self) -> int | None:
        """The output-token limit the request sets (`authorize` checked it), if any."""
        return output_cap(self.body)

    @property
    def regions(self) -> frozenset[str] | None:
        return self.residency.regions if self.residency is not None else None

    @property
    def model_to_route(self) -> str:
        """The router-service's choice for an auto group, else what the client asked for."""
        return self.route.model if self.route is not None else self.requested_model

    def overhead_ms(self) -> float:
        return max(0.0, (time.perf_counter() - self.started - self.dispatch.upstream_s) * 1000)
