"""The settle stage's rule: what an answer is charged for and what it cost.

Worked out once per request, by `cost.charged_usage` and `cost.cost_usd`, and kept on the
context (`usage`, `cost_usd`): the limits and budgets settle on it, the cache stores it as
the saving of a later hit, and metrics, the log line and the spend log report it. A
cascade that escalated is charged for both answers, each at its own model's prices.
"""

from __future__ import annotations

from llm_proxy.cost import charged_usage, cost_usd
from llm_proxy.pipeline.context import Escalation, RequestContext
from llm_proxy.upstream.dispatcher import Dispatch
from llm_proxy.upstream.transports.base import Reply
from llm_proxy.usage import Usage


def charge(ctx: RequestContext, reported: Usage) -> None:
    """Set the request's charged usage and cost from what the upstream reported."""
    deployment = ctx.dispatch.deployment
    if deployment is None:
        # A cache hit, or nothing answered: no upstream tokens were used.
        ctx.usage, ctx.cost_usd = reported, 0.0
        return
    ctx.usage = charged_usage(reported, ctx.count_prompt)
    ctx.cost_usd = cost_usd(deployment.price, ctx.usage)
    first = ctx.route.escalation if ctx.route is not None else None
    if first is not None:
        # A cascade's first answer was used too, at its own model's prices.
        ctx.usage = ctx.usage + first.usage
        ctx.cost_usd += first.cost_usd


def escalated(ctx: RequestContext, signal: str, first: Reply) -> Escalation:
    """What a cascade's first answer used and cost, once the verifier has turned it down."""
    deployment = ctx.dispatch.deployment
    usage = charged_usage(first.usage, ctx.count_prompt)
    cost = cost_usd(deployment.price, usage) if deployment is not None else 0.0
    return Escalation(signal, ctx.dispatch.group or ctx.model_to_route, usage, cost)


def release(dispatch: Dispatch, used_tokens: int) -> None:
    """The deployment that answered has one request fewer in flight, and its real tokens
    in place of the estimate it was sent with."""
    deployment = dispatch.deployment
    if deployment is not None:
        deployment.in_flight -= 1
        deployment.usage.adjust(used_tokens - dispatch.estimated_tokens)
