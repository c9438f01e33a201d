"""The request path, top to bottom: identify → auto route → route → dispatch → settle.

Each stage is a module of this package; this is where they are put in order. `identify`
runs on the headers alone, before the body is read, so strangers learn nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import orjson

from llm_proxy.config.models import AutoGroup
from llm_proxy.gateway import Gateway
from llm_proxy.limits.cost import token_prices
from llm_proxy.optimizer.stage import OptimizerStage
from llm_proxy.pipeline.authorize import authorize
from llm_proxy.pipeline.budget import BudgetStage
from llm_proxy.pipeline.cache import CacheStage
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.guard import GuardStage
from llm_proxy.pipeline.identify import identify
from llm_proxy.pipeline.limits import LimitsStage
from llm_proxy.pipeline.route import plan_route
from llm_proxy.pipeline.template import TemplateStage
from llm_proxy.pipeline.tokens import estimate_prompt_tokens, output_cap
from llm_proxy.spend.record import record_of
from llm_proxy.upstream.deployment import Deployment, Wire
from llm_proxy.upstream.dispatcher import Call
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.registry import Registry
from llm_proxy.upstream.transports.base import Reply, Stream, Transport, Usage
from llm_proxy.upstream.transports.tool_calls import tool_calls_of

__all__ = ["GatewayError", "Pipeline", "RequestContext"]

# The wire format each client API is in; the rest are OpenAI's.
_WIRES: dict[str, Wire] = {"messages": "anthropic", "responses": "responses"}


class Pipeline:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.directory = gateway.directory
        self.cache = CacheStage(gateway.cache)
        self.limits = LimitsStage(gateway)
        self.budget = BudgetStage(gateway, self.limits)
        self.guard = GuardStage(lambda: gateway.config.guardrails)
        self.templates = TemplateStage(gateway.prompts, gateway.assignments)
        self.telemetry = gateway.telemetry
        self.optimizer = OptimizerStage(lambda: gateway.config, gateway.optimizer)

    def begin(self, ctx: RequestContext, headers: Mapping[str, str]) -> None:
        """A request arrived: observe it from here on (its trace continues the caller's)."""
        self.telemetry.begin(ctx, headers)

    async def identify(self, ctx: RequestContext) -> None:
        with self.telemetry.stage(ctx, "auth"):
            delegated = self.optimizer.identify(ctx)
            ctx.identity = delegated or await identify(
                ctx.headers, self.gateway.master_key, self.directory
            )

    async def template(self, ctx: RequestContext) -> None:
        """A request naming a prompt template becomes the rendered request, before all else."""
        with self.telemetry.stage(ctx, "template"):
            ctx.prompt = await self.templates.apply(ctx)

    async def run(self, ctx: RequestContext) -> Reply | Stream:
        registry = self.gateway.registry
        served = {*registry.groups, *registry.config.routing.aliases}
        await self.optimizer.prepare(ctx, served | set(registry.config.routing.auto_groups))
        authorize(ctx)
        stage = self.telemetry.stage
        with stage(ctx, "limits"):
            await self.limits.reserve(ctx)
        try:
            with stage(ctx, "budget"):
                await self.budget.reserve(ctx)
            if ctx.optimizer is not None:
                with stage(ctx, "optimizer"):
                    result = await self.optimizer.run(ctx, lambda: self._route_and_dispatch(ctx))
                if isinstance(result, Reply) and ctx.optimizer.fanout is not None:
                    self.settle(ctx, result.usage)
                return result
            return await self._route_and_dispatch(ctx)
        except BaseException:
            # Refused, failed upstream or abandoned by its client: it used nothing.
            self.limits.release(ctx)
            raise

    async def _route_and_dispatch(self, ctx: RequestContext) -> Reply | Stream:
        gateway = self.gateway
        registry = gateway.registry
        routing = registry.config.routing
        stage = self.telemetry.stage
        with stage(ctx, "guard"):
            self.guard.inbound(ctx)
        with stage(ctx, "cache"):
            lookup = await self.cache.lookup(ctx, registry.config)
        if lookup.answer is not None:
            answer = self.guard.outbound(ctx, lookup.answer)
            if isinstance(answer, Reply):
                self.settle(ctx, answer.usage)
            return answer
        auto_group = routing.auto_groups.get(ctx.requested_model)
        served = set(registry.groups)
        with stage(ctx, "route"):
            if auto_group is not None:
                ctx.route = await gateway.router.decide(
                    ctx, ctx.requested_model, auto_group, routing.router_service, served
                )
                ctx.strong_prices = _strong_prices(registry, auto_group)
            ctx.plan = plan_route(ctx, registry.config, served)
        ctx.estimated_tokens = _estimate(ctx)
        try:
            with stage(ctx, "dispatch"):
                dispatched = await gateway.dispatcher.run(
                    registry,
                    ctx.plan,
                    self._call(ctx),
                    ctx.dispatch,
                    session=ctx.session_id,
                    estimated_tokens=ctx.estimated_tokens,
                    wire=_WIRES.get(ctx.api, "openai"),
                    caller=ctx.identity.caller,
                )
        except UpstreamError as error:
            raise _client_error(error) from None
        result = self.guard.outbound(ctx, self.cache.remember(ctx, lookup, dispatched.result))
        if isinstance(result, Reply):
            if ctx.session_id is not None:
                # An agent's step: what it called shows in its session (read only then).
                ctx.tool_calls = tool_calls_of(orjson.loads(result.body))
            self.settle(ctx, result.usage)
        else:
            ctx.ttft_ms = (time.perf_counter() - ctx.started) * 1000
        return result

    def settle(self, ctx: RequestContext, usage: Usage) -> None:
        """The answer is out: record its real usage against its deployment."""
        if ctx.optimizer is not None and ctx.optimizer.fanout is not None:
            # Its sub-calls settled the counters themselves; its own hold goes back.
            self.limits.release(ctx)
        self.limits.settle(ctx, usage)
        with self.telemetry.stage(ctx, "settle"):
            ctx.usage = usage
            deployment = ctx.dispatch.deployment
            if deployment is not None:
                deployment.in_flight -= 1
                deployment.usage.adjust(usage.total_tokens - ctx.estimated_tokens)
        self.telemetry.finish(ctx)
        self._log_spend(ctx)

    def failed(self, ctx: RequestContext, status: int, message: str) -> None:
        """The request ended without an answer: refused, failed, or its client left."""
        ctx.status = status
        ctx.error = message
        self.telemetry.finish(ctx)
        self._log_spend(ctx)

    def _log_spend(self, ctx: RequestContext) -> None:
        """One spend record per request that got past identify (strangers write nothing)."""
        if ctx.identity.is_master or ctx.identity.key_id is not None:
            record = record_of(ctx)
            self.gateway.spend.record(record)
            if ctx.delegation is not None:
                self.optimizer.delegations.recorded(ctx.delegation, record)

    def stream_failed(self, ctx: RequestContext, error: UpstreamError) -> None:
        ctx.status = error.status
        ctx.error = error.message
        deployment = ctx.dispatch.deployment
        if deployment is not None:
            deployment.health.failed(error.message, caller=ctx.identity.caller)

    def _call(self, ctx: RequestContext) -> Call[Reply | Stream]:
        body, stream, headers = ctx.body, ctx.stream, ctx.headers

        async def call(transport: Transport, deployment: Deployment) -> Reply | Stream:
            if ctx.api == "chat":
                return await transport.chat(deployment, body, stream)
            if ctx.api == "embeddings":
                return await transport.embeddings(deployment, body)
            if ctx.api == "completions":
                return await transport.completions(deployment, body, stream)
            if ctx.api == "responses":
                return await transport.responses(deployment, body, stream)
            return await transport.messages(deployment, body, stream, headers)

        return call


def _strong_prices(registry: Registry, group: AutoGroup) -> tuple[float, float] | None:
    """Per-token prices of the group's strong model: the baseline routing saves against."""
    deployments = registry.groups.get(group.strong or "")
    return token_prices(deployments[0]) if deployments else None


def _estimate(ctx: RequestContext) -> int:
    """Tokens reserved before dispatch: the prompt plus the output it may produce."""
    if ctx.api == "embeddings":
        return 0
    return estimate_prompt_tokens(ctx.body) + (output_cap(ctx.body) or 256)


def _client_error(error: UpstreamError) -> GatewayError:
    if error.status < 500 and error.status != 429:
        return GatewayError(error.status, error.message, code="upstream_error")
    if error.status == 429:
        retry = {"retry-after": str(int(error.retry_after_s or 1))}
        return GatewayError(429, error.message, code="rate_limit_exceeded", headers=retry)
    if error.kind == "unavailable":
        return GatewayError(503, error.message, code="no_deployment_available")
    if error.kind == "timeout":
        return GatewayError(504, error.message, code="upstream_timeout")
    return GatewayError(502, error.message, code="upstream_error")
