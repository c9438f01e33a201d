"""The shape of gateway.yaml, validated with pydantic at start and on reload."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from llm_proxy.config.base import Strict, secret_reference
from llm_proxy.config.client_auth import ClientCertificate, DashboardSso, JwtAuth
from llm_proxy.config.guardrails import Guardrails
from llm_proxy.config.optimizer import Optimizer
from llm_proxy.config.policies import Policies

Strategy = Literal[
    "round-robin",
    "weighted",
    "priority",
    "least-busy",
    "latency",
    "usage",
    "session",
    "cost",
]

# Providers whose chat/embeddings API is OpenAI's wire format: the fast path forwards
# their requests untranslated. Everything else goes through LiteLLM's translation.
OPENAI_COMPATIBLE = frozenset(
    {"openai", "openai_compatible", "vllm", "ollama", "deepseek", "groq", "together", "simulator"}
)
# Providers whose servers speak OpenAI's Responses API themselves (the simulator stands in for
# OpenAI); every other provider gets Responses requests through LiteLLM's bridge to chat.
RESPONSES_NATIVE = frozenset({"openai", "simulator"})


_Strict = Strict


# `api_key_ref: secret:cred_…` names a provider key given to the admin API, kept encrypted
# in the database (llm_proxy.store.vault); the config document never holds the key.
STORED_SECRET = "secret:"


class Listen(_Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 4000


class TLS(_Strict):
    cert_file: str
    key_file: str
    # Client certificates (mTLS), checked against this CA bundle in the TLS handshake.
    client_ca_file: str | None = None
    # optional: a client may present one; required: the handshake fails without one.
    client_auth: Literal["optional", "required"] = "optional"
    clients: list[ClientCertificate] = []

    @model_validator(mode="after")
    def _clients_need_a_ca(self) -> TLS:
        if self.clients and self.client_ca_file is None:
            raise ValueError("'clients' needs 'client_ca_file' (the CA that signs them)")
        names = [c.name for c in self.clients]
        if len(set(names)) != len(names):
            raise ValueError("each client certificate name may be listed once")
        return self


class GatewaySection(_Strict):
    listen: Listen = Listen()
    tls: TLS | None = None
    master_key_ref: str = "env:GATEWAY_MASTER_KEY"
    # Bodies are read up to this many bytes, on every route; past it, 413.
    max_body_bytes: Annotated[int, Field(gt=0)] = 8 * 1024 * 1024
    # A client has this long to send a request's headers (slow senders hold sockets).
    header_timeout_s: Annotated[float, Field(gt=0)] = 10.0
    # A keep-alive connection idle this long between requests is closed.
    keep_alive_s: Annotated[int, Field(ge=1)] = 5
    drain_timeout_s: Annotated[float, Field(ge=0)] = 30.0
    # Kong's shared secret (env:/file:). A request carrying it in `x-gateway-edge-secret`
    # is trusted to name its caller in `X-Consumer-Username` (the key id); unset: never.
    edge_secret_ref: str | None = None
    # The dashboard's static build (`dashboard/out`), served at /ui/; unset: no /ui/.
    ui_dir: str | None = None

    @field_validator("edge_secret_ref")
    @classmethod
    def _edge_secret_reference(cls, value: str | None) -> str | None:
        return secret_reference(value)


class Deadlines(_Strict):
    """How long an attempt may go without an answer before it is hedged or given up on.

    A stream's first byte, or a plain answer's headers, is due within `multiplier` times
    what the deployment was seen to take (p95 of first bytes; p95 of milliseconds per
    output token times the tokens asked for), never sooner than `floor_s` nor later
    than `cap_s`. A deployment not measured yet gets `cap_s`.
    """

    connect_s: Annotated[float, Field(gt=0)] = 1.0
    multiplier: Annotated[float, Field(ge=1)] = 4.0
    floor_s: Annotated[float, Field(gt=0)] = 0.5
    cap_s: Annotated[float, Field(gt=0)] = 60.0
    # Past the deadline, send the same request to another deployment too (the first
    # answer wins, the other is cancelled); off: give up on the attempt and retry.
    hedge: bool = True
    # A stream that sends nothing for this long after its first byte is cut (a stall).
    stream_idle_s: Annotated[float, Field(gt=0)] = 60.0

    @model_validator(mode="after")
    def _floor_under_cap(self) -> Deadlines:
        if self.floor_s > self.cap_s:
            raise ValueError("floor_s must not exceed cap_s")
        return self


class Hedge(_Strict):
    """Hedging before the deadline (Google's "tail at scale"): once an attempt has waited
    longer than its deployment's `after_percentile` of observed latency (a stream's first
    byte; a plain answer's pace times the tokens it may take), or `after_ms`, the same
    request goes to another deployment of the group too; the first answer wins. Unlike a
    missed deadline it counts nothing against the deployment. Percentiles wait for
    `min_samples` answers of the deployment; before that only the deadline hedges.
    """

    after_percentile: Annotated[float, Field(ge=50, lt=100)] | None = None
    after_ms: Annotated[float, Field(gt=0)] | None = None
    min_samples: Annotated[int, Field(ge=1)] = 20

    @model_validator(mode="after")
    def _one_trigger(self) -> Hedge:
        if (self.after_percentile is None) == (self.after_ms is None):
            raise ValueError("give exactly one of after_percentile (50 to 99.9) or after_ms")
        return self


class Backend(_Strict):
    """One deployment: a provider endpoint serving one model."""

    name: Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.:-]+$")]
    provider: Annotated[str, Field(min_length=1)]
    endpoint: str | None = None
    model: Annotated[str, Field(min_length=1)]
    # Public model names this backend answers; defaults to `model`.
    serves: list[str] = []
    api_key_ref: str | None = None
    priority: Annotated[int, Field(ge=0)] = 0
    weight: Annotated[float, Field(gt=0)] = 1.0
    max_tpm: Annotated[int, Field(gt=0)] | None = None
    max_rpm: Annotated[int, Field(gt=0)] | None = None
    # Requests it may have in flight at once; past it, requests queue (policies.priority).
    max_concurrency: Annotated[int, Field(gt=0)] | None = None
    # The sliding window max_rpm/max_tpm are counted over, as a rate per minute: 60 s by
    # default; shorter spreads the same rate evenly (10 s: a sixth of max_tpm per 10 s).
    quota_window_s: Annotated[float, Field(ge=1, le=60)] = 60.0
    region: str | None = None
    tags: list[str] = []
    timeout_s: Annotated[float, Field(gt=0)] = 600.0
    # This backend's own deadlines; unset: its group's, then routing's.
    deadlines: Deadlines | None = None
    # Hedging at a latency percentile for requests first sent here; unset: its group's,
    # then routing's (unset everywhere: hedging only past the deadline).
    hedge: Hedge | None = None
    context_window: Annotated[int, Field(gt=0)] | None = None
    input_cost_per_mtok: Annotated[float, Field(ge=0)] | None = None
    output_cost_per_mtok: Annotated[float, Field(ge=0)] | None = None
    # Self-hosted: cost from the GPU's hourly rate and the tokens per second it serves.
    gpu_hour_usd: Annotated[float, Field(ge=0)] | None = None
    gpu_tokens_per_s: Annotated[float, Field(gt=0)] | None = None

    @field_validator("api_key_ref")
    @classmethod
    def _secret_reference(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("env:", "file:", STORED_SECRET)):
            raise ValueError(
                "must be a reference 'env:NAME' or 'file:PATH', never the key itself"
                " (a key given to the admin API is stored encrypted as 'secret:ID')"
            )
        return value

    @model_validator(mode="after")
    def _endpoint_for_forwarding(self) -> Backend:
        if self.provider in OPENAI_COMPATIBLE and self.provider != "openai" and not self.endpoint:
            raise ValueError(f"provider {self.provider!r} needs an endpoint")
        return self

    @model_validator(mode="after")
    def _gpu_rate_needs_throughput(self) -> Backend:
        if self.gpu_hour_usd is not None and self.gpu_tokens_per_s is None:
            raise ValueError("gpu_hour_usd needs gpu_tokens_per_s to price a token")
        return self

    @property
    def public_names(self) -> list[str]:
        return self.serves or [self.model]


class RuleMatch(_Strict):
    model: str | None = None
    header: dict[str, str] = {}
    tag: str | None = None


class Rule(_Strict):
    match: RuleMatch
    route_to: Annotated[str, Field(min_length=1)]


class Group(_Strict):
    strategy: Strategy | None = None
    deadlines: Deadlines | None = None
    hedge: Hedge | None = None


class Retries(_Strict):
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_base_ms: Annotated[float, Field(ge=0)] = 50.0
    backoff_max_ms: Annotated[float, Field(ge=0)] = 5000.0
    # Longest Retry-After the gateway will sit out itself before moving on to a fallback.
    max_retry_after_s: Annotated[float, Field(ge=0)] = 10.0


class CircuitBreaker(_Strict):
    consecutive_failures: Annotated[int, Field(ge=1)] = 5
    error_rate: Annotated[float, Field(gt=0, le=1)] = 0.5
    window_s: Annotated[float, Field(gt=0)] = 60.0
    min_requests: Annotated[int, Field(ge=1)] = 20
    open_s: Annotated[float, Field(gt=0)] = 30.0
    # The shared circuit opens only on failures from this many callers (keys); one
    # caller's own failures bench the deployment for that caller alone.
    min_callers: Annotated[int, Field(ge=1)] = 2


class HealthProbes(_Strict):
    enabled: bool = False
    interval_s: Annotated[float, Field(gt=0)] = 15.0
    timeout_s: Annotated[float, Field(gt=0)] = 5.0
    # Probes failed in a row that take a deployment out of rotation (its circuit opens).
    unhealthy_after: Annotated[int, Field(ge=1)] = 2


class RouteLabels(_Strict):
    """What an auto group keeps so that feedback on its requests can teach its router."""

    # Keep the router's input (the conversation's text) of each answered request, so a
    # later `POST /v1/feedback` can become a route label; off: feedback labels nothing.
    keep_prompts: bool = False
    # How long a kept input waits for its feedback before it is deleted.
    keep_s: Annotated[float, Field(gt=0, le=90 * 86400)] = 86400.0
    # At most this many characters of text per request (the newest messages are kept).
    max_chars: Annotated[int, Field(ge=100, le=100_000)] = 8000


CascadeSignal = Literal["refusal", "truncation", "json_schema", "tool_call", "uncertainty"]


class Cascade(_Strict):
    """`strategy: cascade`: the weak model answers first; these signals of an
    insufficient answer send the request on to the strong model."""

    signals: list[CascadeSignal] = [
        "refusal",
        "truncation",
        "json_schema",
        "tool_call",
        "uncertainty",
    ]
    # Write a route label (source "cascade", strong_wins 1) for each escalation.
    label: bool = True


class ShadowBudget(_Strict):
    """Who pays for shadow calls: a virtual key (by id) or a team (by id or name), whose
    limits and budgets they are counted against, as that key's or team's own requests."""

    key: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    team: Annotated[str, Field(min_length=1, max_length=200)] | None = None

    @model_validator(mode="after")
    def _one_payer(self) -> ShadowBudget:
        if (self.key is None) == (self.team is None):
            raise ValueError("name exactly one of 'key' (a key id) or 'team' (a team id or name)")
        return self


class Shadow(_Strict):
    """Shadow judging: for `share` of the group's answered requests, the pair's other model
    answers too and `judge_model` compares the two answers (in both orders); the verdict
    is stored as a route label (source "shadow"). Runs after the client's answer is out."""

    share: Annotated[float, Field(ge=0, le=1)]
    judge_model: Annotated[str, Field(min_length=1)]
    budget: ShadowBudget
    # Shadow runs of this group at once, per replica; a request due past it is skipped.
    max_concurrent: Annotated[int, Field(ge=1, le=1000)] = 4
    # A run still going after this long is abandoned (its calls are logged as 499).
    timeout_s: Annotated[float, Field(gt=0, le=3600)] = 120.0


class AutoGroup(_Strict):
    """A model name (e.g. "auto") whose requests the router-service sends to a model."""

    # Where requests go when the router-service is slow, down, or names an unserved model.
    default: Annotated[str, Field(min_length=1)]
    # The model that would answer without routing: the baseline of the savings report.
    strong: str | None = None
    # The pair's cheap model, which route labels compare with `strong`; unset: `default`.
    weak: str | None = None
    # route: the router-service picks; cascade: the weak model answers first and an
    # insufficient answer escalates to the strong one (non-streamed chat; other requests
    # are routed as by `route`).
    strategy: Literal["route", "cascade"] = "route"
    labels: RouteLabels = RouteLabels()
    cascade: Cascade = Cascade()
    shadow: Shadow | None = None

    @model_validator(mode="after")
    def _pair_for_a_cascade(self) -> AutoGroup:
        if self.strong is None and self.strategy == "cascade":
            raise ValueError("a cascade needs the group's 'strong' model")
        if self.shadow is not None and self.strong in (None, self.weak_model):
            raise ValueError(
                "shadow judging needs a pair: a 'strong' model other than the weak one"
            )
        return self

    @property
    def weak_model(self) -> str:
        return self.weak or self.default


class RouterService(_Strict):
    url: str = "http://127.0.0.1:4100"
    # The router decides within this many ms or the group's default model answers.
    deadline_ms: Annotated[float, Field(gt=0)] = 50.0


class Routing(_Strict):
    strategy: Strategy = "weighted"
    auto_groups: dict[str, AutoGroup] = {}
    router_service: RouterService = RouterService()
    groups: dict[str, Group] = {}
    aliases: dict[str, str] = {}
    rules: list[Rule] = []
    fallbacks: dict[str, list[str]] = {}
    # Models that can stand in for one another (gpt-4o → claude sonnet): tried after the
    # explicit fallbacks, and used when a requested model has no backend of its own.
    equivalents: dict[str, list[str]] = {}
    # Where a prompt goes when it does not fit the requested model's context window.
    context_window_fallbacks: dict[str, str] = {}
    retries: Retries = Retries()
    circuit_breaker: CircuitBreaker = CircuitBreaker()
    health_probes: HealthProbes = HealthProbes()
    deadlines: Deadlines = Deadlines()
    hedge: Hedge | None = None


class Observability(_Strict):
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # OTLP traces; the standard OTEL_* variables (OTEL_TRACES_EXPORTER, …) override this.
    tracing: bool = False
    # Prometheus metrics on GET /metrics.
    metrics: bool = True
    # A bearer token (env:/file:) scrapers must send to GET /metrics; unset, /metrics is
    # open, so keep the port private (or the edge's access rules in front of it).
    metrics_token_ref: str | None = None
    # One JSON line per request on stdout.
    request_log: bool = True

    @field_validator("metrics_token_ref")
    @classmethod
    def _metrics_token_reference(cls, value: str | None) -> str | None:
        return secret_reference(value)


class RateRule(_Strict):
    """Requests and tokens a model (or every model) may take per window, counted per `per`."""

    model: str | None = None  # None: every model
    # Who shares one counter: each key (team, user) its own, or everyone ("model").
    per: Literal["key", "team", "user", "model"] = "key"
    rpm: Annotated[int, Field(gt=0)] | None = None
    tpm: Annotated[int, Field(gt=0)] | None = None
    input_tpm: Annotated[int, Field(gt=0)] | None = None
    output_tpm: Annotated[int, Field(gt=0)] | None = None
    tpd: Annotated[int, Field(gt=0)] | None = None


class LimitsQueue(_Strict):
    """Over a rate limit, wait for room (up to max_wait_s) instead of answering 429."""

    max_wait_s: Annotated[float, Field(ge=0)] = 0.0
    keys: list[str] = []  # key ids that wait; empty: every key


class BudgetAlerts(_Strict):
    webhook_url: str | None = None
    # None: each scope's own thresholds (ScopeLimits.alert_thresholds).
    thresholds: list[Annotated[float, Field(gt=0, le=1)]] | None = None


class Limits(_Strict):
    """Rate limits and budgets: reserved before dispatch, settled with the real usage."""

    enabled: bool = True
    fail_mode: Literal["open", "closed"] = "open"
    rules: list[RateRule] = []
    # Output tokens reserved when a request sets no max_tokens, by model, then the default.
    output_tokens_estimate: Annotated[int, Field(ge=0)] = 256
    output_tokens_estimates: dict[str, Annotated[int, Field(ge=0)]] = {}
    queue: LimitsQueue = LimitsQueue()
    # model -> cheaper model answering instead when the model's own rate limit is reached.
    degrade_to: dict[str, str] = {}
    alerts: BudgetAlerts = BudgetAlerts()
    # A Redis that does not answer within this is treated as down for redis_retry_s.
    redis_timeout_ms: Annotated[float, Field(gt=0)] = 500.0
    redis_retry_s: Annotated[float, Field(ge=0)] = 1.0
    # A reservation in Redis is leased for this long, renewed while its request is in
    # flight; a replica that dies holding it has it given back (or settled) once it ends.
    lease_s: Annotated[float, Field(ge=1, le=3600)] = 30.0


class SemanticCache(_Strict):
    enabled: bool = False
    # Cosine similarity of MiniLM sentence vectors; the guard decides among those above it.
    threshold: Annotated[float, Field(gt=0, le=1)] = 0.8
    # Per model or auto group: a stricter or looser similarity bar than `threshold`.
    thresholds: dict[str, Annotated[float, Field(gt=0, le=1)]] = {}
    # Requests asked at a higher temperature want variety, not a neighbour's answer.
    max_temperature: Annotated[float, Field(ge=0, le=2)] = 1.0
    # "in-process": the MiniLM sentence encoder in the gateway (onnxruntime, int8, no torch);
    # "token-table": MiniLM's word-piece table alone (fast, blind to order); or the URL of an
    # OpenAI-shaped embeddings service (the router-service) that runs the whole model.
    embedder: str = "in-process"
    embedder_model: str = "all-MiniLM-L6-v2"
    embedder_timeout_ms: Annotated[float, Field(gt=0)] = 50.0
    # The in-process encoder reads this many word pieces of the prompt (its cost grows with
    # them: ~6 ms for 48 on a busy core, ~15 ms for 128); the guard still compares the whole
    # prompt. 48 holds a typical question; past it, hits on long prompts with rewordings in
    # their first sentences fall a little (bench: 95.4 % of the GSM8K/MMLU variants at 48,
    # 95.7 % at 128, 93.3 % at 32).
    embedder_max_tokens: Annotated[int, Field(ge=8, le=256)] = 48

    @field_validator("embedder")
    @classmethod
    def _embedder_kind(cls, value: str) -> str:
        if value not in ("in-process", "token-table") and not value.startswith(
            ("http://", "https://")
        ):
            raise ValueError(
                "must be 'in-process', 'token-table' or an http(s) URL of an embeddings service"
            )
        return value.rstrip("/")


class Cache(_Strict):
    enabled: bool = False
    ttl_s: Annotated[float, Field(gt=0)] = 3600.0
    max_entries: Annotated[int, Field(gt=0)] = 100_000
    max_bytes: Annotated[int, Field(gt=0)] = 256 * 1024 * 1024
    semantic: SemanticCache = SemanticCache()
    excluded_models: list[str] = []
    excluded_paths: list[str] = []
    # Models or groups whose answers are shared by every team rather than kept per team.
    shared_groups: list[str] = []


class Database(_Strict):
    """Keys, teams, budgets and the spend log. SQLite is the embedded default."""

    url: str = "sqlite+aiosqlite:///./gateway.db"
    # Apply pending migrations at start (replicas take a lock); else `llm-proxy db upgrade`.
    migrate_on_start: bool = True
    pool_size: Annotated[int, Field(ge=1)] = 10


class Auth(_Strict):
    """Virtual keys and admin tokens: how long lookups are cached, rotation grace."""

    # Revocations reach every replica at once through Redis; the TTL bounds staleness
    # when that signal is lost (or without Redis, across processes sharing a database).
    key_cache_ttl_s: Annotated[float, Field(gt=0)] = 10.0
    miss_cache_ttl_s: Annotated[float, Field(gt=0)] = 1.0
    rotation_grace_s: Annotated[float, Field(ge=0)] = 86400.0
    # Signed tokens (JWT / OIDC access tokens) from trusted issuers, besides virtual keys.
    jwt: JwtAuth | None = None
    # A dashboard login lasts this long, then the browser must log in again.
    session_ttl_s: Annotated[float, Field(gt=0)] = 8 * 3600.0
    # The dashboard's single sign-on (OIDC); token login stays for break-glass.
    sso: DashboardSso | None = None


class Spend(_Strict):
    """The spend log writer: batching, and the local spool used while the database is down."""

    batch_size: Annotated[int, Field(ge=1, le=10000)] = 500
    flush_interval_ms: Annotated[float, Field(gt=0)] = 100.0
    spool_dir: str = "./gateway.spool"
    retry_interval_s: Annotated[float, Field(gt=0)] = 1.0
    drain_timeout_s: Annotated[float, Field(ge=0)] = 10.0


class Responses(_Strict):
    """The Responses API's stored answers (`store: true`, the default)."""

    # OpenAI keeps stored responses 30 days; so does the gateway unless told otherwise.
    store_ttl_s: Annotated[float, Field(gt=0)] = 30 * 86400.0


_REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


class RedisSection(_Strict):
    """Counters, the response cache and cross-replica signals; unset: in-process state."""

    # One server (redis://, rediss://, unix://) or a Redis Cluster reached through any of
    # its nodes (redis+cluster://host:port, rediss+cluster://host:port).
    url: str | None = None
    # Every key the gateway writes starts with this, so deployments (and test runs)
    # can share one Redis without touching each other's data.
    prefix: str = "gw:"

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme, _, rest = value.partition("://")
        if scheme not in _REDIS_SCHEMES or not rest:
            raise ValueError(
                "must be a Redis URL: redis://, rediss:// or unix:// for one server, "
                "redis+cluster://host:port or rediss+cluster://host:port for a Redis Cluster"
            )
        database = rest.partition("/")[2].partition("?")[0]
        if scheme.endswith("+cluster") and database not in ("", "0"):
            raise ValueError(f"a Redis Cluster has only database 0, not /{database}")
        return value

    @field_validator("prefix")
    @classmethod
    def _no_braces(cls, value: str) -> str:
        # Keys are hash-tagged `{<prefix>limits}:`: a brace in the prefix would move the tag.
        if "{" in value or "}" in value:
            raise ValueError("must not contain '{' or '}' (keys are hash-tagged with it)")
        return value


class ConfigSource(_Strict):
    """Where the managed sections come from: this file, or versions in the database."""

    # file: the file is the truth and admin writes to the config answer 409 (GitOps).
    # database: the file bootstraps version 1; later versions come from the admin API.
    mode: Literal["file", "database"] = "file"
    # Every replica applies a new version on a Redis message; this poll of the newest
    # version number is the fallback when a message is lost (or there is no Redis).
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    # Encrypts provider keys given to the admin API (AES-GCM); unset: they are refused.
    secret_key_ref: str = "env:GATEWAY_SECRET_KEY"

    @field_validator("secret_key_ref")
    @classmethod
    def _key_reference(cls, value: str) -> str:
        if not value.startswith(("env:", "file:")):
            raise ValueError("must be a reference 'env:NAME' or 'file:PATH', never the key")
        return value


class KongSection(_Strict):
    """Push the virtual keys to Kong's Admin API from the gateway, on every key change."""

    admin_url: str | None = None  # unset: no push (`llm-proxy kong sync` stays possible)
    mode: Literal["auto", "dbless", "db"] = "auto"
    base: str = "kong/kong.yaml"  # DB-less: the config the consumers are rendered into
    # The safety net: a push this often even without a change.
    interval_s: Annotated[float, Field(gt=0)] = 300.0
    timeout_s: Annotated[float, Field(gt=0)] = 30.0


class ManagedConfig(_Strict):
    """The sections a running gateway can change: what `config.mode: database` versions."""

    backends: Annotated[list[Backend], Field(min_length=1)]
    routing: Routing = Routing()
    limits: Limits = Limits()
    cache: Cache = Cache()
    observability: Observability = Observability()
    policies: Policies = Policies()
    guardrails: Guardrails = Guardrails()


class GatewayConfig(ManagedConfig):
    """gateway.yaml: the managed sections and each process's own (listen, database, …)."""

    gateway: GatewaySection = GatewaySection()
    config: ConfigSource = ConfigSource()
    database: Database = Database()
    redis: RedisSection = RedisSection()
    auth: Auth = Auth()
    spend: Spend = Spend()
    optimizer: Optimizer = Optimizer()
    kong: KongSection = KongSection()
    responses: Responses = Responses()

    @model_validator(mode="after")
    def _references_resolve(self) -> GatewayConfig:
        problems = self.reference_problems()
        if problems:
            # One line per problem, each naming its own place in the document.
            raise ValueError("\n".join(problems))
        return self

    def reference_problems(self) -> list[str]:
        """Names the config uses that nothing defines, each as `path: problem`."""
        problems: list[str] = []
        names = [b.name for b in self.backends]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            problems.append(f"backends: backend names must be unique: {', '.join(duplicates)}")
        models = self.public_models()
        known = models | set(self.routing.aliases)

        def check(path: str, target: str | None, choices: set[str]) -> None:
            if target is not None and target not in choices:
                problems.append(f"{path}: no backend serves {target!r}")

        for alias, target in self.routing.aliases.items():
            check(f"routing.aliases.{alias}", target, models)
        for source, chain in self.routing.fallbacks.items():
            for target in chain:
                check(f"routing.fallbacks.{source}", target, known)
        for i, rule in enumerate(self.routing.rules):
            check(f"routing.rules.{i}.route_to", rule.route_to, known)
        for name, group in self.routing.auto_groups.items():
            if name in models:
                problems.append(f"routing.auto_groups.{name}: a backend already serves {name!r}")
            check(f"routing.auto_groups.{name}.default", group.default, known)
            check(f"routing.auto_groups.{name}.strong", group.strong, known)
            check(f"routing.auto_groups.{name}.weak", group.weak, known)
            if group.shadow is not None:
                judge = group.shadow.judge_model
                check(f"routing.auto_groups.{name}.shadow.judge_model", judge, known)
        for source, target in self.limits.degrade_to.items():
            check(f"limits.degrade_to.{source}", target, known)
        for source, target in self.routing.context_window_fallbacks.items():
            check(f"routing.context_window_fallbacks.{source}", target, known)
        return problems

    def public_models(self) -> set[str]:
        return {name for backend in self.backends for name in backend.public_names}


# The sections the reload path applies (ManagedConfig's); the others (listen address,
# database, Redis, auth, spend, `config`) belong to each process and come from its file.
MANAGED_SECTIONS = tuple(ManagedConfig.model_fields)
