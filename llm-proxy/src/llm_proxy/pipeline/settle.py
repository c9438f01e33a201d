"""The settle stage's rule: what an answer is charged for and what it cost.

Worked out once per request, by `cost.charged_usage` and `cost.cost_usd`, and kept on the
context (`usage`, `cost_usd`): the limits and budgets settle on it, the cache stores it as
the saving of a later hit, and metrics, the log line and the spend log report it.
"""

from __future__ import annotations

from llm_proxy.cost import charged_usage, cost_usd
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.usage import Usage


def charge(ctx: RequestContext, reported: Usage) -> None:
    """Set the request's charged usage and cost from what the upstream reported."""
    deployment = ctx.dispatch.deployment
    if deployment is None:
        # A cache hit, or nothing answered: no upstream tokens were used.
        ctx.usage, ctx.cost_usd = reported, 0.0
        return
    ctx.usage = charged_usage(reported, ctx.prompt_tokens)
    ctx.cost_usd = cost_usd(deployment.price, ctx.usage)
