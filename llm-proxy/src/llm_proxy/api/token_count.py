"""`POST /v1/messages/count_tokens`: what a Messages request's input would cost in tokens.

Claude Code asks before it sends. An Anthropic backend counts for itself (its count is the
one it bills); every other model is counted by the gateway's tokenizer. Counting generates
nothing, so it takes no rate limit or budget and writes no spend record.
"""

from __future__ import annotations

from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.authorize import authorize
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.route import plan_route
from llm_proxy.pipeline.tokens import estimate_prompt_tokens
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.parameters import forwardable


async def count_input_tokens(gateway: Gateway, ctx: RequestContext) -> int:
    authorize(ctx)
    body = forwardable("count_tokens", ctx.body)
    registry = gateway.registry
    auto_group = registry.config.routing.auto_groups.get(ctx.requested_model)
    if auto_group is not None:
        # The router picks per request; its default model stands in for the count.
        ctx.requested_model = auto_group.default
    plan = plan_route(ctx, registry.config, set(registry.groups))
    deployment = registry.pick(plan[0], ctx.session_id)
    if deployment is None or not deployment.forwards_anthropic:
        return estimate_prompt_tokens(body)
    try:
        return await gateway.passthrough.count_tokens(deployment, body, ctx.headers)
    except UpstreamError as error:
        if error.status < 500 and error.status != 429:
            raise GatewayError(error.status, error.message, code="upstream_error") from None
        # The provider cannot count right now; the gateway's count is close enough.
        return estimate_prompt_tokens(body)
