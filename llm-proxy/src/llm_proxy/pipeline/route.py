"""From the model a client asked for to the ordered model groups that may answer it."""

from __future__ import annotations

from llm_proxy.config.models import GatewayConfig, Rule
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError


def plan_route(ctx: RequestContext, config: GatewayConfig, served: set[str]) -> list[str]:
    routing = config.routing
    model = _apply_rules(ctx, routing.rules) or ctx.model_to_route
    model = routing.aliases.get(model, model)
    if model not in served:
        stand_ins = [m for m in routing.equivalents.get(model, []) if m in served]
        if not stand_ins:
            raise GatewayError(
                404,
                f"The model `{ctx.requested_model}` does not exist "
                "or you do not have access to it.",
                code="model_not_found",
                param="model",
            )
        model = stand_ins[0]
    model = _fit_context_window(ctx, config, model)
    plan = [model]
    for candidate in [*routing.fallbacks.get(model, []), *routing.equivalents.get(model, [])]:
        candidate = routing.aliases.get(candidate, candidate)
        if candidate in served and candidate not in plan:
            plan.append(candidate)
    return plan


def _apply_rules(ctx: RequestContext, rules: list[Rule]) -> str | None:
    for rule in rules:
        match = rule.match
        if match.model is not None and match.model != ctx.requested_model:
            continue
        if any(ctx.headers.get(k.lower()) != v for k, v in match.header.items()):
            continue
        if match.tag is not None and match.tag not in ctx.tags:
            continue
        return rule.route_to
    return None


def _fit_context_window(ctx: RequestContext, config: GatewayConfig, model: str) -> str:
    bigger = config.routing.context_window_fallbacks.get(model)
    if bigger is None:
        return model
    windows = [
        b.context_window for b in config.backends if model in b.public_names and b.context_window
    ]
    if not windows:
        return model
    # The prompt as counted, plus the most the request lets the model write.
    needed = ctx.prompt_tokens + (ctx.output_cap or 0)
    return bigger if needed > min(windows) else model
