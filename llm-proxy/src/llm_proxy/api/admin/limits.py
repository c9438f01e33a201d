"""`/admin/limits`: the rate-limit rules in force and live usage against every limit."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from llm_proxy.api.admin.access import GatewayDep, Readonly
from llm_proxy.limits.counters import Counter, StoreUnavailable
from llm_proxy.limits.plan import budget_counters, rate_counters, scope_counters
from llm_proxy.limits.usage import usage_rows
from llm_proxy.pipeline.errors import GatewayError

router = APIRouter(prefix="/admin/limits", tags=["Admin: limits"])


@router.get("/rules", summary="Rate-limit rules, fail mode, queue and degrade settings")
async def rules(_: Readonly, gateway: GatewayDep) -> dict[str, Any]:
    policy = gateway.config.limits
    return {
        "enabled": policy.enabled,
        "fail_mode": policy.fail_mode,
        "store": "redis" if gateway.config.redis.url else "memory",
        "rules": [rule.model_dump() for rule in policy.rules],
        "output_tokens_estimate": policy.output_tokens_estimate,
        "output_tokens_estimates": policy.output_tokens_estimates,
        "queue": policy.queue.model_dump(),
        "degrade_to": policy.degrade_to,
        "alerts": policy.alerts.model_dump(),
    }


@router.get("/usage", summary="Live counters of a key (with its team and user), or of a model")
async def usage(
    _: Readonly,
    gateway: GatewayDep,
    key_id: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    if key_id is not None:
        counters = await _key_counters(gateway, key_id, model or "*")
    elif model is not None:
        counters = scope_counters("model", model, None, gateway.config.limits.rules)
    else:
        raise GatewayError(400, "Give 'key_id' (and optionally 'model'), or 'model'.")
    try:
        rows = await usage_rows(gateway.enforcer, counters)
    except StoreUnavailable:
        raise GatewayError(
            503, "The limit counters cannot be read right now.", code="limits_unavailable"
        ) from None
    return {"object": "list", "data": rows}


async def _key_counters(gateway: GatewayDep, key_id: str, model: str) -> list[Counter]:
    grant = await gateway.directory.key_by_id(key_id)
    if grant is None:
        raise GatewayError(404, f"No key with id {key_id!r}.", code="not_found", param="key_id")
    identity = grant.identity
    rules = [rule for rule in gateway.config.limits.rules if rule.per != "model"]
    counters = rate_counters(identity, rules, model)
    return counters + budget_counters(identity.scopes, None)
