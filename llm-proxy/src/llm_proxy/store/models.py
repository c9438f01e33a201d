"""The tables: organizations, teams, users, budgets, virtual keys, admin tokens, dashboard
sessions, the request log and its opted-in prompts, stored Responses API answers.

Ids are short prefixed strings (`team_…`, `key_…`), so a log line or a URL says what it names.
Every timestamp is UTC. Limits left as NULL mean "no limit on that dimension".
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so migrations can refer to them the same way on Postgres and SQLite.
_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# JSONB on Postgres (indexable, compact), plain JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:20]}"


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous: pass a UTC-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: Json}


class Entity(Base):
    """A row the admin API manages, named by a prefixed string id."""

    __abstract__ = True

    id: Mapped[str] = mapped_column(String(40), primary_key=True)


class _Limits:
    """Rate limits shared by keys, teams and users (tokens per minute / per day)."""

    rpm: Mapped[int | None] = mapped_column(Integer)
    tpm: Mapped[int | None] = mapped_column(Integer)
    input_tpm: Mapped[int | None] = mapped_column(Integer)
    output_tpm: Mapped[int | None] = mapped_column(Integer)
    tpd: Mapped[int | None] = mapped_column(Integer)


class Organization(Entity):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Budget(Entity):
    """Spending caps a key, team or user points at; several may share one."""

    __tablename__ = "budgets"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    usd_daily: Mapped[float | None] = mapped_column(Float)
    usd_monthly: Mapped[float | None] = mapped_column(Float)
    tokens_daily: Mapped[int | None] = mapped_column(BigInteger)
    tokens_monthly: Mapped[int | None] = mapped_column(BigInteger)
    # Fractions of the budget at which an alert fires, once per window each.
    alert_thresholds: Mapped[list[float]] = mapped_column(Json, default=lambda: [0.8, 1.0])
    # Over budget, requests go to this model instead of being refused.
    auto_downgrade_to: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Team(_Limits, Entity):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(String(200), unique=True)
    organization_id: Mapped[str | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    budget_id: Mapped[str | None] = mapped_column(ForeignKey("budgets.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(_Limits, Entity):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )
    budget_id: Mapped[str | None] = mapped_column(ForeignKey("budgets.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class VirtualKey(_Limits, Entity):
    """A client credential `sk-gw-…`. Only its SHA-256 is stored; the key is shown once."""

    __tablename__ = "virtual_keys"

    name: Mapped[str | None] = mapped_column(String(200))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, for people to tell keys apart in lists and logs.
    key_prefix: Mapped[str] = mapped_column(String(16))
    # After a rotation the replaced key keeps working until previous_expires_at.
    previous_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_expires_at: Mapped[datetime | None] = mapped_column()
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    budget_id: Mapped[str | None] = mapped_column(ForeignKey("budgets.id", ondelete="RESTRICT"))
    # Empty: every model is allowed.
    allowed_models: Mapped[list[str]] = mapped_column(Json, default=list)
    default_model: Mapped[str | None] = mapped_column(String(200))
    max_tokens_cap: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="active")
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class AdminToken(Entity):
    """A credential for `/admin/*` with a role: admin | developer | readonly."""

    __tablename__ = "admin_tokens"

    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(20))
    # A developer token's team: the only keys it manages (see api/admin/keys.py).
    team_id: Mapped[str | None] = mapped_column(ForeignKey("teams.id", ondelete="RESTRICT"))
    expires_at: Mapped[datetime | None] = mapped_column()
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class DashboardSession(Entity):
    """A browser's login to the dashboard: a cookie secret (stored as its hash) and a CSRF token.

    `role` is admin | developer | readonly, or `key` for a virtual key that may read only
    its own and its team's usage. `subject` names what logged in (`master:<digest>`, an
    admin token's id or a key's id) so every use can re-check that it is still valid.
    """

    __tablename__ = "dashboard_sessions"

    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(80))
    key_id: Mapped[str | None] = mapped_column(String(40))
    team_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)
    ended_at: Mapped[datetime | None] = mapped_column()


def _set_only(name: str, column: str, *more: str) -> Index:
    """An index of the rows that set `column`."""
    present = text(f"{column} IS NOT NULL")
    return Index(name, column, *more, sqlite_where=present, postgresql_where=present)


class RequestLog(Base):
    """One row per request that reached the gateway: the spend log.

    Written in batches by `llm_proxy.spend`, idempotent by `request_id`. Times are the
    request's start (`started_at`) and settlement (`finished_at`); `latency_ms` is their
    difference, `ttft_ms` the time to the first streamed byte. `status` is the HTTP status
    the client got (499: it went away first). Queries: `llm_proxy.store.request_log`.
    """

    __tablename__ = "request_log"
    __table_args__ = (
        Index("ix_request_log_started_at", "started_at"),
        # Partial (migration 0023): most rows leave these NULL, and every query on them
        # compares them to a value or asks IS NOT NULL.
        _set_only("ix_request_log_key_started", "key_id", "started_at"),
        _set_only("ix_request_log_team_started", "team_id", "started_at"),
        _set_only("ix_request_log_user_started", "user_id", "started_at"),
        _set_only("ix_request_log_parent", "parent_request_id"),
        _set_only("ix_request_log_client_request", "client_request_id"),
        _set_only("ix_request_log_session_started", "session_id", "started_at"),
        _set_only("ix_request_log_shadow_of", "shadow_of"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    request_id: Mapped[str] = mapped_column(String(128), unique=True)
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime] = mapped_column()
    api: Mapped[str] = mapped_column(String(16))
    key_id: Mapped[str | None] = mapped_column(String(40))
    team_id: Mapped[str | None] = mapped_column(String(40))
    user_id: Mapped[str | None] = mapped_column(String(40))
    model_requested: Mapped[str | None] = mapped_column(String(200))
    model_routed: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(64))
    deployment: Mapped[str | None] = mapped_column(String(200))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cached_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost_usd: Mapped[float] = mapped_column(Float, default=0.0)
    # On a cache hit: what the answer cost when it was first made (cost_usd is then 0).
    cost_saved_usd: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    latency_ms: Mapped[float] = mapped_column(Float)
    ttft_ms: Mapped[float | None] = mapped_column(Float)
    status: Mapped[int] = mapped_column(Integer)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(1000))
    stream: Mapped[bool] = mapped_column(Boolean, default=False)
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    fallback_used: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    router_score: Mapped[float | None] = mapped_column(Float)
    # model "auto": the auto group asked for, the router that chose, and its threshold.
    routed_from: Mapped[str | None] = mapped_column(String(200))
    router: Mapped[str | None] = mapped_column(String(64))
    router_threshold: Mapped[float | None] = mapped_column(Float)
    # What the group's strong model would have cost for the same tokens (auto-routed only).
    cost_strong_usd: Mapped[float | None] = mapped_column(Float)
    parent_request_id: Mapped[str | None] = mapped_column(String(128))
    # The caller's own x-request-id, for correlation only (clipped; never unique, never
    # the key records are deduplicated on: `request_id` is always the gateway's).
    client_request_id: Mapped[str | None] = mapped_column(String(128))
    trace_id: Mapped[str | None] = mapped_column(String(64))
    prompt_hash: Mapped[str | None] = mapped_column(String(64))
    # Milliseconds per pipeline stage ({"identify": 0.02, "route": 0.1, …}), filled by telemetry.
    stage_timings: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    tags: Mapped[list[str]] = mapped_column(Json, default=list)
    # Guardrail checks that fired ({stage, check, entity, action, count}), never the text.
    guardrails: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # A request made from a prompt template: its name, version and experiment variant.
    prompt_name: Mapped[str | None] = mapped_column(String(64))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    prompt_variant: Mapped[str | None] = mapped_column(String(64))
    # An agent run's requests share a session (x-session-id or metadata.session_id); each is
    # one step of it, numbered by start time. The tools the answer called, by name.
    session_id: Mapped[str | None] = mapped_column(String(128))
    tool_calls: Mapped[list[str]] = mapped_column(Json, default=list)
    # The region of the deployment that answered (its backend's `region`), for residency audits.
    region: Mapped[str | None] = mapped_column(String(64))
    # An auto group's cascade that escalated: the signal that did it, the model whose
    # answer was found insufficient and what that first answer cost (in `cost_usd` too).
    escalation: Mapped[str | None] = mapped_column(String(32))
    escalated_from: Mapped[str | None] = mapped_column(String(200))
    escalation_cost_usd: Mapped[float | None] = mapped_column(Float)
    # A shadow call (shadow judging; also tagged "shadow"): the auto request it judges.
    shadow_of: Mapped[str | None] = mapped_column(String(128))
    # Hedged: the deployments the request was also sent to (comma-separated) and what sent
    # the hedge (`deadline`, or the early hedge's `p95` / `250ms`); `deployment` answered.
    hedged_to: Mapped[str | None] = mapped_column(String(400))
    hedge_trigger: Mapped[str | None] = mapped_column(String(32))


# Upper bounds (exclusive) of the usage rollup's latency buckets, in ms; the last bucket
# is everything from 120 s on. Fixed: the rollup's rows are counts in these buckets.
LATENCY_BOUNDS_MS = (
    10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1000,
    1500, 2000, 3000, 5000, 7500, 10000, 15000, 20000, 30000, 60000, 120000,
)  # fmt: skip
LATENCY_BUCKETS = tuple(f"latency_b{i:02d}" for i in range(len(LATENCY_BOUNDS_MS) + 1))
# A rollup row's span, and the counters it sums (besides the latency buckets and extremes).
ROLLUP_HOUR_S = 3600
ROLLUP_COUNTERS = (
    "requests",
    "errors",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "cache_hits",
    "cache_saved_usd",
    "routing_saved_usd",
)


def _rollup_sums() -> list[Column[Any]]:
    """What a rollup row holds for its hour: new columns each call (a column has one table)."""
    return [
        Column("requests", Integer, nullable=False),
        Column("errors", Integer, nullable=False),
        Column("prompt_tokens", BigInteger, nullable=False),
        Column("completion_tokens", BigInteger, nullable=False),
        Column("cost_usd", Float, nullable=False),
        Column("cache_hits", Integer, nullable=False),
        Column("cache_saved_usd", Float, nullable=False),
        Column("routing_saved_usd", Float, nullable=False),
        Column("latency_min_ms", Float, nullable=False),
        Column("latency_max_ms", Float, nullable=False),
        # Per hour and dimension: an int is plenty, and Postgres sums ints faster than bigints.
        *(Column(name, Integer, nullable=False) for name in LATENCY_BUCKETS),
    ]


# The request log summed per hour, team, key, model asked for, model that answered and
# provider, kept by the request log's insert itself, in its transaction (store.rollup_writes,
# since migration 0022; a trigger before), so it holds exactly the rows inserted (a replayed
# record is no insert). Only records that are no one's sub-call count, as in the usage
# series. NULLs are stored as '' (they cannot be part of the primary key). Read by
# store.usage_rollup.
_ROLLUP_DIMENSIONS = ("hour_s", "team_id", "key_id", "model_requested", "model_routed", "provider")
usage_hourly = Table(
    "usage_hourly",
    Base.metadata,
    Column("hour_s", BigInteger, nullable=False),
    Column("team_id", String(40), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("model_requested", String(200), nullable=False),
    Column("model_routed", String(200), nullable=False),
    Column("provider", String(64), nullable=False),
    *_rollup_sums(),
    PrimaryKeyConstraint(*_ROLLUP_DIMENSIONS),
    # Every logged request updates a row here: room on each page lets Postgres update in
    # place (HOT, no index write) and prune the old versions as it goes.
    postgresql_with={"fillfactor": 50},
)


# The same sums per hour and one dimension at a time (`dim`: none, team, key, model,
# provider; `value` that dimension's value, '' for none), kept the same way (migration
# 0021): a series grouped by one dimension and filtered by none reads one row
# per point instead of summing every combination of the others (150 an hour at the
# bench's scale). "model" is the model that answered, else the one asked for.
usage_hourly_by = Table(
    "usage_hourly_by",
    Base.metadata,
    Column("dim", String(8), nullable=False),
    Column("hour_s", BigInteger, nullable=False),
    Column("value", String(200), nullable=False),
    *_rollup_sums(),
    PrimaryKeyConstraint("dim", "hour_s", "value"),
    postgresql_with={"fillfactor": 50},
)


class Prompt(Entity):
    """A named prompt template or partial; its content lives in immutable versions.

    `experiment`, when set, splits traffic between versions:
    `{"variants": [{"version", "weight", "name"}], "sticky_by": "user" | "key" | "session"}`.
    """

    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("kind", "name", name="uq_prompts_kind_name"),)

    kind: Mapped[str] = mapped_column(String(16))  # prompt | partial
    name: Mapped[str] = mapped_column(String(64))
    experiment: Mapped[dict[str, Any] | None] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptVersion(Base):
    """One immutable version: messages (a prompt) or a text (a partial), with its defaults."""

    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("prompt_id", "version", name="uq_prompt_versions_version"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # A list of {role, content} for a prompt; a string for a partial.
    template: Mapped[Any] = mapped_column(Json)
    model: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    variables_schema: Mapped[dict[str, Any] | None] = mapped_column(Json)
    comment: Mapped[str | None] = mapped_column(String(1000))
    author: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PromptLabel(Base):
    """A label (`production`, `staging`, …) pointing at one version of a prompt."""

    __tablename__ = "prompt_labels"

    prompt_id: Mapped[str] = mapped_column(
        ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(36), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PromptLabelMove(Base):
    """The history of a label: every move, who made it and when."""

    __tablename__ = "prompt_label_moves"
    __table_args__ = (Index("ix_prompt_label_moves_prompt", "prompt_id", "label"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    prompt_id: Mapped[str] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(36))
    from_version: Mapped[int | None] = mapped_column(Integer)
    to_version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str | None] = mapped_column(String(64))
    moved_at: Mapped[datetime] = mapped_column(default=utcnow)


class Feedback(Base):
    """An outcome a caller reported for one of its own requests (`POST /v1/feedback`)."""

    __tablename__ = "feedback"

    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    key_id: Mapped[str | None] = mapped_column(String(40))
    team_id: Mapped[str | None] = mapped_column(String(40))
    score: Mapped[float] = mapped_column(Float)
    label: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ConfigVersion(Base):
    """One immutable version of the managed config (`config.mode: database`).

    `document` holds the managed sections (config.models.MANAGED_SECTIONS) as validated;
    provider keys appear only as `secret:cred_…` references. `diff` lists what changed
    from the version before it. Versions are numbered 1, 2, 3, …; a writer that loses the
    race for the next number is told its view is stale.
    """

    __tablename__ = "config_versions"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[dict[str, Any]] = mapped_column(Json)
    # The admin token id, or "master" for the master key; "bootstrap" for the file's v1.
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str] = mapped_column(String(1000), default="")
    diff: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    # Set when this version restores an earlier one.
    rolled_back_to: Mapped[int | None] = mapped_column(Integer)


class ProviderCredential(Entity):
    """A provider API key given to the admin API, AES-GCM encrypted (store.vault).

    Never updated in place: a rotation makes a new row and a new config version, so
    replicas pick it up like any change and a rollback brings the old key back too.
    """

    __tablename__ = "provider_credentials"

    # base64(nonce ‖ ciphertext ‖ tag), bound to this row's id as associated data.
    ciphertext: Mapped[str] = mapped_column(String(2000))
    # Which encryption key sealed it (a fingerprint, not the key): rotation finds old rows.
    key_id: Mapped[str] = mapped_column(String(16), index=True)
    last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One admin write: who, what, when, from where, and the records before and after.

    `before`/`after` map each changed record ("virtual_keys/key_…", "config") to its
    fields then (null: it did not exist), with secret columns left out.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_target", "target"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    # "POST /admin/keys/{key_id}/rotate": the route, not the concrete URL.
    action: Mapped[str] = mapped_column(String(200))
    target: Mapped[str] = mapped_column(String(200))
    request_id: Mapped[str] = mapped_column(String(128))
    client: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)


class LoggedPrompt(Base):
    """An opted-in tenant's prompt and answer (`guard.prompt_log`): redacted, then sealed.

    One row per request log row of the same `request_id`, written with it; a table of its
    own, so logging prompts never alters `request_log` (and only opted-in requests have a
    row). `sealed` is base64(nonce ‖ ciphertext ‖ tag) of the redacted document, bound to
    the request id; `key_id` names the `guardrails.prompt_log.keys` key that sealed it.
    """

    __tablename__ = "prompt_log"

    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    logged_at: Mapped[datetime] = mapped_column()
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    sealed: Mapped[str] = mapped_column(Text)


class StoredResponse(Base):
    """A Responses API answer kept for `GET /v1/responses/{id}` and `previous_response_id`.

    Owned by the key that created it (`owner`: its key id, or `master`); every read names
    the owner, so no other key can see it. `input_items` is the whole conversation the
    answer was made from, so a follow-up need not walk the chain. Gone after `expires_at`.
    """

    __tablename__ = "stored_responses"
    __table_args__ = (Index("ix_stored_responses_expires_at", "expires_at"),)

    owner: Mapped[str] = mapped_column(String(40), primary_key=True)
    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    model: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    input_items: Mapped[list[Any]] = mapped_column(Json)
    response: Mapped[dict[str, Any]] = mapped_column(Json)


class DeniedToken(Base):
    """A signed token refused before its own expiry: its issuer's token id (`jti`).

    Kept until `expires_at` (the token's own end, when the admin gives it); after that the
    token is refused for being expired anyway, and the row only costs memory.
    """

    __tablename__ = "denied_tokens"

    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    reason: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def id(self) -> str:
        """What the audit log names the row by (before its insert, too)."""
        return self.jti


class RouteLabel(Base):
    """What a deployment learnt about one `auto` routing decision, for training its router.

    `strong_wins` is the router's training target: 1 when the strong model's answer was
    better, 0 when the weak model's was as good or better, 0.5 for a tie. `messages` is the
    conversation as the router-service saw it (text only), so a label trains without the
    request log. Written by shadow judging, feedback on an auto-routed request, and cascade
    escalations; read by `router-service train --from-gateway`.
    """

    __tablename__ = "route_labels"
    __table_args__ = (
        UniqueConstraint("request_id", "source", name="uq_route_labels_request_id_source"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(128))
    # "shadow" | "feedback" | "cascade"
    source: Mapped[str] = mapped_column(String(16))
    auto_group: Mapped[str] = mapped_column(String(200))
    strong_model: Mapped[str] = mapped_column(String(200))
    weak_model: Mapped[str] = mapped_column(String(200))
    routed_model: Mapped[str] = mapped_column(String(200))
    messages: Mapped[list[Any]] = mapped_column(Json)
    strong_wins: Mapped[float] = mapped_column(Float)
    detail: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class RouteInput(Base):
    """The router's input of one answered `auto` request, kept (`labels.keep_prompts`) until
    feedback on it becomes a route label or `expires_at` passes, whichever comes first."""

    __tablename__ = "route_inputs"

    request_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    auto_group: Mapped[str] = mapped_column(String(200))
    strong_model: Mapped[str] = mapped_column(String(200))
    weak_model: Mapped[str] = mapped_column(String(200))
    routed_model: Mapped[str] = mapped_column(String(200))
    messages: Mapped[list[Any]] = mapped_column(Json)
    expires_at: Mapped[datetime] = mapped_column(index=True)
