"""What the request path hands over for an auto group's router to learn from.

An answered `auto` request is described by its `Pair` (the group's strong and weak models,
and which of them answered; answered by any other model, by a fallback, it teaches
nothing). With `labels.keep_prompts` its router input is kept for feedback to label
later (`store.route_labels`); a cascade that escalated labels it at once: the strong
model won (1), or, when its answer shows a verifier signal too, neither did (0.5).
"""

from __future__ import annotations

from collections.abc import Callable

from llm_proxy.config.models import AutoGroup, GatewayConfig
from llm_proxy.pipeline.auto_route import router_input
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.store.route_labels import Label, LabelStore, Pair


class RouteLearning:
    def __init__(self, labels: LabelStore, config: Callable[[], GatewayConfig]) -> None:
        self.labels = labels
        self._config = config

    def group_of(self, ctx: RequestContext) -> AutoGroup | None:
        if ctx.route is None:
            return None
        return self._config().routing.auto_groups.get(ctx.route.group)

    def answered(self, ctx: RequestContext) -> None:
        """Keep the router's input of an answered auto request, if its group says to."""
        group = self.group_of(ctx)
        if group is None or not group.labels.keep_prompts or ctx.status >= 400:
            return
        pair = pair_of(ctx, group)
        if pair is not None:
            messages = router_input(ctx.body, group.labels.max_chars)
            self.labels.keep(ctx.request_id, pair, messages, group.labels.keep_s)

    def escalated(self, ctx: RequestContext, strong_signal: str | None) -> None:
        """Label a cascade's escalation (the context's route carries it)."""
        group = self.group_of(ctx)
        first = ctx.route.escalation if ctx.route is not None else None
        if group is None or first is None or not group.cascade.label:
            return
        pair = pair_of(ctx, group)
        if pair is None:
            return
        self.labels.add(
            Label(
                request_id=ctx.request_id,
                source="cascade",
                pair=pair,
                messages=router_input(ctx.body, group.labels.max_chars),
                strong_wins=1.0 if strong_signal is None else 0.5,
                detail={"signal": first.signal, "strong_signal": strong_signal},
            )
        )


def pair_of(ctx: RequestContext, group: AutoGroup) -> Pair | None:
    """The request's pair, when one of its two models answered it."""
    routed = ctx.dispatch.group
    if ctx.route is None or group.strong is None or routed not in (group.strong, group.weak_model):
        return None
    return Pair(ctx.route.group, group.strong, group.weak_model, routed)
