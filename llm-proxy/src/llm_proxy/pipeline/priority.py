"""Priority class and fair-share ticket: how a request queues when its group is saturated.

The class comes from the request (`metadata.priority` or `x-gateway-priority`), else its
key's default, its team's, then the policy's; a key's or team's `cap` bounds what its
requests may ask for (asking above it is served at the cap, not refused: a client cannot
know every key's cap). The team is the fair-share unit (a key without a team is its own).
With neither `policies.priority.enabled` nor `policies.fair_share.enabled`, there is no
ticket and dispatch behaves as without policies.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from llm_proxy.config.policies import PRIORITY_CLASSES, Policies, PriorityClass
from llm_proxy.pipeline.errors import bad_request
from llm_proxy.upstream.admission import Ticket

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext

_RANK = {cls: rank for rank, cls in enumerate(PRIORITY_CLASSES)}


def ticket_for(ctx: RequestContext, policies: Policies) -> Ticket | None:
    priority, fair = policies.priority, policies.fair_share
    if not (priority.enabled or fair.enabled):
        return None
    cls = priority_of(ctx, policies) if priority.enabled else priority.default
    team = ctx.identity.team_id or ctx.identity.key_id or "master"
    weight = fair.weights.get(team, fair.default_weight) if fair.enabled else 1.0
    headroom = 1.0 if cls == "high" or not priority.enabled else 1.0 - priority.reserved_share
    return Ticket(cls, team, weight, priority.queue_time(cls), headroom)


def priority_of(ctx: RequestContext, policies: Policies) -> PriorityClass:
    priority = policies.priority
    identity = ctx.identity
    key_rule = priority.keys.get(identity.key_id) if identity.key_id else None
    team_rule = priority.teams.get(identity.team_id) if identity.team_id else None
    asked = _asked(ctx)
    cls = (
        asked
        or (key_rule.default if key_rule else None)
        or (team_rule.default if team_rule else None)
        or priority.default
    )
    for rule in (key_rule, team_rule):
        if rule is not None and rule.cap is not None and _RANK[cls] < _RANK[rule.cap]:
            cls = rule.cap
    return cls


def _asked(ctx: RequestContext) -> PriorityClass | None:
    value: Any = ctx.metadata.get("priority")
    param = "metadata.priority"
    if value is None:
        value, param = ctx.headers.get("x-gateway-priority"), "x-gateway-priority"
        if value is None:
            return None
        value = value.strip().lower()
    if value not in _RANK:
        raise bad_request(f"Invalid '{param}': expected one of high, normal, low.", param=param)
    return cast(PriorityClass, value)
