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
    deployment = dispatch.deployment
    usage = ctx.usage
    cost = ctx.cost_usd
    run = ctx.optimizer
    if run is not None and run.fanout is not None:
        # Its sub-calls' own records, summed (their prices, their tokens): never re-priced.
        cost = run.fanout.cost_usd
    identity = ctx.identity
    first = ctx.route.escalation if ctx.route is not None else None
    record: RequestRecord = {
        "request_id": ctx.request_id,
        "started_at": finished - timedelta(seconds=latency_s),
        "finished_at": finished,
        "api": ctx.api,
        "latency_ms": latency_s * 1000,
        "status": ctx.status,
        "key_id": identity.key_id,
        "team_id": identity.team_id,
        "user_id": identity.user_id,
        "model_requested": _clip(ctx.requested_model or None, _NAME_LIMIT),
        "model_routed": dispatch.group or (run.model if run is not None else None),
        "provider": deployment.provider if deployment is not None else None,
        "deployment": deployment.name if deployment is not None else None,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost_usd": cost,
        "cost_saved_usd": ctx.cost_saved_usd,
        "ttft_ms": ctx.ttft_ms,
        "error_type": _error_type(ctx.status),
        "error_message": _clip(ctx.error, _MESSAGE_LIMIT) if ctx.status >= 400 else None,
        "stream": ctx.stream,
        "cache_hit": ctx.cache_result not in (None, "miss", "bypass"),
        "fallback_used": dispatch.fallback_used,
        "attempts": len(dispatch.attempts),
        "router_score": ctx.route.score if ctx.route is not None else None,
        "routed_from": ctx.route.group if ctx.route is not None else None,
        "router": ctx.route.router if ctx.route is not None else None,
        "router_threshold": ctx.route.threshold if ctx.route is not None else None,
        "cost_strong_usd": _strong_cost(ctx),
        # Only a delegated credential names a parent: a client's header cannot.
        "parent_request_id": ctx.delegation.parent_request_id if ctx.delegation else None,
        "client_request_id": ctx.client_request_id,
        "trace_id": ctx.trace_id,
        "prompt_hash": _prompt_hash(ctx.body),
        "stage_timings": dict(ctx.stage_ms),
        "tags": [tag[:_NAME_LIMIT] for tag in ctx.tags[:20]],
        "guardrails": [hit.as_dict() for hit in merge(ctx.guard_hits)] if ctx.guard_hits else [],
        "prompt_name": ctx.prompt.name if ctx.prompt is not None else None,
        "prompt_version": ctx.prompt.version if ctx.prompt is not None else None,
        "prompt_variant": ctx.prompt.variant if ctx.prompt is not None else None,
        "session_id": _clip(ctx.session_id, 128),
        "tool_calls": [name[:_NAME_LIMIT] for name in ctx.tool_calls[:50]],
        "region": deployment.backend.region if deployment is not None else None,
        "shadow_of": ctx.shadow_of,
        "hedged_to": ",".join(dispatch.hedged_to)[:400] or None,
        "hedge_trigger": dispatch.hedge_trigger,
        "sealed_prompt": ctx.sealed_prompt,
        "escalation": first.signal if first is not None else None,
        "escalated_from": first.model if first is not None else None,
        "escalation_cost_usd": first.cost_usd if first is not None else None,
    }
    return record


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
