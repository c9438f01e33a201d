"""The log stage: a finished request as a spend-log row (who, which model, tokens, cost,
time, outcome), for the spend log's batched writer.

Tokens and cost are the ones settle charged (`pipeline.settle`), so the row agrees with
the metrics, the log line and the budgets about every request.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from llm_proxy.cost import cost_usd
from llm_proxy.guard.hits import merge
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.store.request_log import RequestRecord
from llm_proxy.upstream.dispatcher import Dispatch

_MESSAGE_LIMIT = 1000
_NAME_LIMIT = 200


# How a failed request ended, by the status the client got; for filters and dashboards.
_ERROR_TYPES = {
    400: "invalid_request",
    401: "authentication",
    403: "permission",
    404: "not_found",
    408: "timeout",
    413: "request_too_large",
    429: "rate_limited",
    499: "client_disconnected",
    502: "upstream_error",
    503: "unavailable",
    504: "upstream_timeout",
}


def record_of(ctx: RequestContext) -> RequestRecord:
    finished = datetime.now(UTC)
    latency_s = time.perf_counter() - ctx.started
    dispatch = ctx.dispatch
    usage = ctx.usage
    identity = ctx.identity
    status = ctx.status
    # A copy of a record of Nones, with what this request has set on it: a dict display
    # of every field cost twice as much (CPython builds one of more than 16 keys in parts
    # and merges them), and most requests leave a third of the fields None.
    record: RequestRecord = _BLANK.copy()  # type: ignore[assignment]
    record["request_id"] = ctx.request_id
    # Positional: timedelta's keywords are parsed on every call.
    record["started_at"] = finished - timedelta(0, latency_s)
    record["finished_at"] = finished
    record["api"] = ctx.api
    record["latency_ms"] = latency_s * 1000
    record["status"] = status
    record["key_id"] = identity.key_id
    record["team_id"] = identity.team_id
    record["user_id"] = identity.user_id
    requested = ctx.requested_model
    record["model_requested"] = requested[:_NAME_LIMIT] if requested else None
    record["prompt_tokens"] = usage.prompt_tokens
    record["completion_tokens"] = usage.completion_tokens
    record["cached_tokens"] = usage.cached_tokens
    record["cost_usd"] = ctx.cost_usd
    record["cost_saved_usd"] = ctx.cost_saved_usd
    record["ttft_ms"] = ctx.ttft_ms
    if status >= 400:
        record["error_type"] = _error_type(status)
        record["error_message"] = _clip(ctx.error, _MESSAGE_LIMIT)
    record["stream"] = ctx.stream
    record["cache_hit"] = ctx.cache_result not in (None, "miss", "bypass")
    attempts = len(dispatch.attempts)
    # A fallback takes a second attempt: one attempt needs no look at the groups.
    record["fallback_used"] = attempts > 1 and dispatch.fallback_used
    record["attempts"] = attempts
    record["client_request_id"] = ctx.client_request_id
    record["trace_id"] = ctx.trace_id
    record["prompt_hash"] = _prompt_hash(ctx.body)
    record["stage_timings"] = dict(ctx.stage_ms)
    record["tags"] = [tag[:_NAME_LIMIT] for tag in ctx.tags[:20]] if ctx.tags else []
    hits = ctx.guard_hits
    record["guardrails"] = [hit.as_dict() for hit in merge(hits)] if hits else []
    session = ctx.session_id
    record["session_id"] = session[:128] if session else None
    record["tool_calls"] = [n[:_NAME_LIMIT] for n in ctx.tool_calls[:50]] if ctx.tool_calls else []
    record["shadow_of"] = ctx.shadow_of
    record["sealed_prompt"] = ctx.sealed_prompt
    _dispatched(record, dispatch)
    run = ctx.optimizer
    if run is not None:
        record["model_routed"] = dispatch.group or run.model
        if run.fanout is not None:
            # Its sub-calls' own records, summed (their prices, their tokens): never re-priced.
            record["cost_usd"] = run.fanout.cost_usd
    if ctx.route is not None:
        _routed(record, ctx)
    if ctx.delegation is not None:
        # Only a delegated credential names a parent: a client's header cannot.
        record["parent_request_id"] = ctx.delegation.parent_request_id
    if ctx.prompt is not None:
        record["prompt_name"] = ctx.prompt.name
        record["prompt_version"] = ctx.prompt.version
        record["prompt_variant"] = ctx.prompt.variant
    return record


# Every field of a record, None: what record_of starts from.
_BLANK: dict[str, Any] = dict.fromkeys(RequestRecord.__annotations__)


def _dispatched(record: RequestRecord, dispatch: Dispatch) -> None:
    record["model_routed"] = dispatch.group or None
    deployment = dispatch.deployment
    if deployment is not None:
        backend = deployment.backend  # its fields, not the deployment's property for each
        record["provider"] = backend.provider
        record["deployment"] = backend.name
        record["region"] = backend.region
    if dispatch.hedged_to:
        record["hedged_to"] = ",".join(dispatch.hedged_to)[:400] or None
    record["hedge_trigger"] = dispatch.hedge_trigger


def _routed(record: RequestRecord, ctx: RequestContext) -> None:
    route = ctx.route
    assert route is not None
    record["router_score"] = route.score
    record["routed_from"] = route.group
    record["router"] = route.router
    record["router_threshold"] = route.threshold
    record["cost_strong_usd"] = _strong_cost(ctx)
    first = route.escalation
    if first is not None:
        record["escalation"] = first.signal
        record["escalated_from"] = first.model
        record["escalation_cost_usd"] = first.cost_usd


def _strong_cost(ctx: RequestContext) -> float | None:
    """The same tokens at the auto group's strong model's prices: the unrouted baseline."""
    if ctx.route is None or ctx.strong_prices is None:
        return None
    first = ctx.route.escalation
    # A cascade that escalated: the strong model's own answer is what it would have cost.
    return cost_usd(ctx.strong_prices, ctx.usage if first is None else ctx.usage - first.usage)


def _error_type(status: int) -> str | None:
    if status < 400:
        return None
    return _ERROR_TYPES.get(status, "server_error" if status >= 500 else "client_error")


def _clip(value: str | None, limit: int) -> str | None:
    return value[:limit] if value else None


def _prompt_hash(body: dict[str, Any]) -> str | None:
    """Identical prompts hash alike, so repeats (cache candidates) show in the log."""
    prompt = body.get("messages") or body.get("input")
    if prompt is None:
        return None
    try:
        encoded = orjson.dumps([body.get("system"), prompt], option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None
    return hashlib.sha256(encoded).hexdigest()
