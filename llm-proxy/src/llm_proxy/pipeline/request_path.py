"""The request path, top to bottom, in one place:

    identify → template → authorize → limits → budget → guard (in) → cache → route
    → dispatch (→ verify → escalate, for a cascade) → guard (out) → settle → cache write
    → log

`identify` runs on the headers alone, before the API layer reads the body, so strangers
learn nothing else; `template` right after the body is read, so every later stage sees
the request that will be sent. `run` takes an identified request with its body from authorize to
the answer; a complete answer is settled and logged there, a stream by `finish` when it
ends (or its client leaves). A request that ends without an answer goes to `failed`.
Every request that got past identify leaves exactly one spend record.

Each stage is a module of this package and receives what it uses (the enforcer, a getter
for the live registry and config, the cache, the router client), never the gateway. The
prompt is counted once, on the context, before limits (or at dispatch when no limit
applies); every estimate derives from it.

An auto group with `strategy: cascade` has its weak model answer a non-streamed chat
request first; when the verifier (`pipeline.verifier`) finds that answer insufficient the
strong model answers instead, and the request is charged for both. What the path learns
about its auto decisions goes to `pipeline.route_learning`; a share of an auto group's
requests is judged against the pair's other model once its answer is delivered
(`pipeline.shadow`, started by `delivered`), through `ask`, this same path.

Seams (`pipeline.seams`): `templates` as above; `guards` screen the request before the
cache and every answer before it leaves; the `optimizer` admits its sub-calls at identify, marks the
requests that name an approach before limits, and answers them in place of route and
dispatch. Unconfigured, each seam is an empty tuple (or None): it costs nothing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace

import orjson

from llm_proxy.cache import ResponseCache
from llm_proxy.config.models import AutoGroup
from llm_proxy.limits.enforcer import Enforcer
from llm_proxy.pipeline.authorize import authorize
from llm_proxy.pipeline.auto_route import RouterClient
from llm_proxy.pipeline.budget import BudgetStage
from llm_proxy.pipeline.cache import CacheStage
from llm_proxy.pipeline.context import CASCADE, RequestContext, RouteDecision
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import identify
from llm_proxy.pipeline.limits import LimitsStage
from llm_proxy.pipeline.log import record_of
from llm_proxy.pipeline.priority import ticket_for
from llm_proxy.pipeline.residency import ResidencyRules
from llm_proxy.pipeline.route import plan_route
from llm_proxy.pipeline.route_learning import RouteLearning
from llm_proxy.pipeline.seams import Optimizer, Seams
from llm_proxy.pipeline.settle import charge, escalated, release
from llm_proxy.pipeline.shadow import ShadowJudging
from llm_proxy.pipeline.tokens import output_cap
from llm_proxy.pipeline.verifier import insufficient
from llm_proxy.prices import Prices, highest
from llm_proxy.spend import SpendLog
from llm_proxy.store.directory import Directory
from llm_proxy.store.route_labels import LabelStore
from llm_proxy.telemetry.observer import Telemetry
from llm_proxy.upstream.deployment import Deployment, Wire
from llm_proxy.upstream.dispatcher import Call, Dispatch, Dispatcher
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.registry import Registry
from llm_proxy.upstream.transports.base import Reply, Stream, Transport
from llm_proxy.upstream.transports.tool_calls import tool_calls_of
from llm_proxy.usage import Usage

Answer = Reply | Stream
# The wire format each client API is in; the rest are OpenAI's.
_WIRES: dict[str, Wire] = {"messages": "anthropic", "responses": "responses"}


class RequestPath:
    def __init__(
        self,
        *,
        master_key: str,
        directory: Directory,
        registry: Callable[[], Registry],
        enforcer: Enforcer,
        cache: ResponseCache,
        router: RouterClient,
        dispatcher: Dispatcher,
        telemetry: Telemetry,
        spend: SpendLog,
        labels: LabelStore,
        seams: Seams | None = None,
    ) -> None:
        self.master_key = master_key
        self.directory = directory
        self.registry = registry
        config = lambda: registry().config  # noqa: E731  (the live config, across reloads)
        self.limits = LimitsStage(enforcer, enforcer.metrics, config)
        self.budget = BudgetStage(self.limits, enforcer.metrics, config, self._group_prices)
        self.cache = CacheStage(cache)
        self.residency = ResidencyRules()
        self.router = router
        self.dispatcher = dispatcher
        self.telemetry = telemetry
        self.spend = spend
        self.seams = seams or Seams()
        self.learning = RouteLearning(labels, config)
        self.shadow = ShadowJudging(config, directory, labels, self.ask, telemetry.metrics)

    def begin(self, ctx: RequestContext, headers: Mapping[str, str]) -> None:
        """A request arrived: observe it from here on (its trace continues the caller's)."""
        self.telemetry.begin(ctx, headers)

    async def identify(self, ctx: RequestContext) -> None:
        optimizer = self.seams.optimizer
        with self.telemetry.stage(ctx, "auth"):
            delegated = await optimizer.identify(ctx) if optimizer is not None else None
            ctx.identity = delegated or await identify(ctx.headers, self.master_key, self.directory)

    async def template(self, ctx: RequestContext) -> None:
        """A request naming a prompt template becomes the rendered request, before all else."""
        for template in self.seams.templates:
            if template.named(ctx):
                with self.telemetry.stage(ctx, "template"):
                    ctx.prompt = await template.apply(ctx)
                ctx.body_changed()

    async def run(self, ctx: RequestContext) -> Answer:
        stage = self.telemetry.stage
        registry = self.registry()
        policies = registry.config.policies
        ctx.residency = self.residency.resolve(ctx, policies)
        ctx.ticket = ticket_for(ctx, policies)
        optimizer = self.seams.optimizer
        if optimizer is not None:
            await optimizer.prepare(ctx, registry.askable(ctx.regions))
            run = ctx.optimizer
            if (
                run is not None
                and ctx.residency is not None
                and run.model not in registry.served(ctx.regions)
            ):
                raise ctx.residency.refusal(run.model)
        authorize(ctx)
        with stage(ctx, "limits"):
            await self.limits.reserve(ctx)
        try:
            with stage(ctx, "budget"):
                await self.budget.reserve(ctx)
            if optimizer is not None and ctx.optimizer is not None:
                answer = await self._optimized(ctx, optimizer)
            else:
                answer = await self._answer(ctx)
        except BaseException:
            # Refused, failed upstream or abandoned by its client: it used nothing.
            self.limits.release(ctx)
            raise
        if isinstance(answer, Stream):
            # Settled by `finish` when it ends.
            ctx.ttft_ms = (time.perf_counter() - ctx.started) * 1000
            return answer
        self.finish(ctx, answer.usage)
        return answer

    async def _optimized(self, ctx: RequestContext, optimizer: Optimizer) -> Answer:
        """guard (in) → optimizer → guard (out): the run's conversation is screened before
        any sub-call (what the guard redacts, the optimizer never sees), and its final
        answer before it leaves, as any answer is. Its plain-call fallback is not screened
        twice."""
        await self._screen(ctx)
        with self.telemetry.stage(ctx, "optimizer"):
            answer = await optimizer.run(ctx, lambda: self._answer(ctx, screened=True))
        return await self._guarded(ctx, answer)

    async def _answer(self, ctx: RequestContext, screened: bool = False) -> Answer:
        """guard (in) → cache → route → dispatch → guard (out). The cache keeps what the
        upstream answered (a stream as it passes, a reply once `run` has settled it).
        `screened`: the caller runs the guard itself, around this."""
        stage = self.telemetry.stage
        registry = self.registry()
        if not screened:
            await self._screen(ctx)
        with stage(ctx, "cache"):
            lookup = await self.cache.lookup(ctx, registry.config)
        if lookup.answer is not None:
            return lookup.answer if screened else await self._guarded(ctx, lookup.answer)
        dispatched = self.shadow.watch(ctx, await self._route_and_dispatch(ctx))
        answer = self.cache.remember(ctx, lookup, dispatched)
        if not screened:
            answer = await self._guarded(ctx, answer)
        if isinstance(answer, Reply) and ctx.session_id is not None:
            # An agent's step: what it called shows in its session (read only then).
            ctx.tool_calls = tool_calls_of(orjson.loads(answer.body))
        return answer

    async def _screen(self, ctx: RequestContext) -> None:
        for guard in self.seams.guards:
            if not guard.enabled():
                continue
            with self.telemetry.stage(ctx, "guard"):
                guard.inbound(ctx)
                await guard.classify(ctx)

    async def _guarded(self, ctx: RequestContext, answer: Answer) -> Answer:
        for guard in self.seams.guards:
            answer = await guard.outbound(ctx, answer)
        return answer

    async def _route_and_dispatch(self, ctx: RequestContext) -> Answer:
        registry = self.registry()
        with self.telemetry.stage(ctx, "route"):
            await self._route(ctx, registry)
        with self.telemetry.stage(ctx, "dispatch"):
            answer = await self._dispatch(ctx, registry)
        if ctx.route is None or ctx.route.router != CASCADE or not isinstance(answer, Reply):
            return answer
        with self.telemetry.stage(ctx, "cascade"):
            return await self._verified(ctx, registry, answer)

    async def _route(self, ctx: RequestContext, registry: Registry) -> None:
        routing = registry.config.routing
        auto_group = routing.auto_groups.get(ctx.requested_model)
        if auto_group is not None:
            if auto_group.strategy == "cascade" and ctx.api == "chat" and not ctx.stream:
                ctx.route = _cascade_start(ctx.requested_model, auto_group)
            else:
                served = registry.served(ctx.regions)
                ctx.route = await self.router.decide(
                    ctx, ctx.requested_model, auto_group, routing.router_service, served
                )
            ctx.strong_prices = _strong_prices(registry, auto_group)
            self.shadow.plan(ctx, ctx.requested_model, auto_group)
        self._plan(ctx, registry)

    async def _verified(self, ctx: RequestContext, registry: Registry, first: Reply) -> Answer:
        """A cascade's weak answer stands unless the verifier finds it insufficient; then
        the strong model answers, and the request carries both (`route.escalation`). If
        the strong model cannot answer, the weak answer is served after all."""
        group = registry.config.routing.auto_groups[ctx.route.group]  # type: ignore[union-attr]
        signal = insufficient(ctx.body, first.body, group.cascade.signals)
        if signal is None or group.strong is None:
            return first
        weak_route, weak_dispatch = ctx.route, ctx.dispatch
        assert weak_route is not None
        escalation = escalated(ctx, signal, first)
        ctx.route = replace(weak_route, model=group.strong, escalation=escalation)
        ctx.dispatch = Dispatch(upstream_s=weak_dispatch.upstream_s)
        try:
            self._plan(ctx, registry)
            answer = await self._dispatch(ctx, registry)
        except GatewayError:
            ctx.route, ctx.dispatch = weak_route, weak_dispatch
            return first
        release(weak_dispatch, escalation.usage.total_tokens)
        if isinstance(answer, Reply):
            self.learning.escalated(ctx, insufficient(ctx.body, answer.body, group.cascade.signals))
        return answer

    def _plan(self, ctx: RequestContext, registry: Registry) -> None:
        served = registry.served(ctx.regions)
        try:
            ctx.plan = plan_route(ctx, registry.config, served)
        except GatewayError as error:
            if ctx.residency is None or error.code != "model_not_found":
                raise
            # Served somewhere, just not where the policy allows: refused, never sent abroad.
            # (Unknown everywhere, the 404 stands.)
            plan_route(ctx, registry.config, registry.served())
            raise ctx.residency.refusal(ctx.requested_model) from None

    async def _dispatch(self, ctx: RequestContext, registry: Registry) -> Answer:
        # Only a queue ticket's fair share and a group that weighs tokens (max_tpm, the
        # usage strategy) read the estimate here: for the others none is made, so a
        # request that nothing else counts is never counted.
        weighed = ctx.ticket is not None or registry.weighs_tokens(ctx.plan)
        estimated = self.limits.estimated(ctx).total_tokens if weighed else 0
        try:
            dispatched = await self.dispatcher.run(
                registry,
                ctx.plan,
                _call(ctx),
                ctx.dispatch,
                session=ctx.session_id,
                estimated_tokens=estimated,
                wire=_WIRES.get(ctx.api, "openai"),
                caller=ctx.identity.caller,
                regions=ctx.regions,
                stream=ctx.stream,
                max_tokens=output_cap(ctx.body),
                ticket=ctx.ticket,
            )
        except UpstreamError as error:
            raise _client_error(error) from None
        return dispatched.result

    def settle(self, ctx: RequestContext, usage: Usage) -> None:
        """The answer is out: charge its real usage on the counters and its deployment."""
        with self.telemetry.stage(ctx, "settle"):
            charge(ctx, usage)
            if ctx.optimizer is not None and ctx.optimizer.fanout is not None:
                # Its sub-calls settled the counters themselves; its own hold goes back.
                self.limits.release(ctx)
            self.limits.settle(ctx)
            used = ctx.usage
            if ctx.route is not None and ctx.route.escalation is not None:
                used = used - ctx.route.escalation.usage  # the first deployment had its share
            release(ctx.dispatch, used.total_tokens)

    def finish(self, ctx: RequestContext, usage: Usage) -> None:
        """A stream ended (or its client left), or a cache hit was answered: settle, log."""
        self.settle(ctx, usage)
        self.log(ctx)

    def failed(self, ctx: RequestContext, status: int, message: str) -> None:
        """The request ended without an answer: refused, failed, or its client left."""
        ctx.status = status
        ctx.error = message
        self.log(ctx)

    def stream_failed(self, ctx: RequestContext, error: UpstreamError) -> None:
        ctx.status = error.status
        ctx.error = error.message
        deployment = ctx.dispatch.deployment
        if deployment is not None:
            deployment.health.failed(error.message, caller=ctx.identity.caller)

    def log(self, ctx: RequestContext) -> None:
        """Metrics, the log line and the trace; one spend record per identified request."""
        self.telemetry.finish(ctx)
        for guard in self.seams.guards:
            guard.finished(ctx)
        if ctx.identity.is_master or ctx.identity.key_id is not None:
            record = record_of(ctx)
            self.spend.record(record)
            self.learning.answered(ctx)
            if self.seams.optimizer is not None:
                self.seams.optimizer.recorded(ctx, record)

    async def delivered(self, ctx: RequestContext) -> None:
        """The answer's last byte is out (the API layer calls this after sending a request
        that is due a shadow run): the run may start."""
        self.shadow.answered(ctx)

    async def ask(self, ctx: RequestContext) -> Reply:
        """A request the gateway makes itself (a shadow call, `pipeline.shadow`; the guard's
        classifier call, `guard.classifier`), complete, not streamed: the whole path from
        authorize to the spend log, as a client's takes. Raises GatewayError when it is
        refused or fails (and is logged as such). A `traceparent` in `ctx.headers` makes it
        part of that trace."""
        self.begin(ctx, ctx.headers)
        try:
            answer = await self.run(ctx)
        except GatewayError as error:
            self.failed(ctx, error.status, error.message)
            raise
        except asyncio.CancelledError:
            self.failed(ctx, 499, "The gateway's own call was abandoned before its answer.")
            raise
        except Exception:
            self.failed(ctx, 500, "The gateway hit an internal error.")
            raise
        assert isinstance(answer, Reply)  # asked with stream false
        return answer

    def _group_prices(self, model: str) -> Prices:
        return highest(d.price for d in self.registry().groups.get(model, ()))


def _call(ctx: RequestContext) -> Call[Answer]:
    body, stream, headers = ctx.body, ctx.stream, ctx.headers

    # The transport's own coroutine, not one awaiting it: a frame fewer to resume.
    def call(transport: Transport, deployment: Deployment) -> Awaitable[Answer]:
        if ctx.api == "chat":
            return transport.chat(deployment, body, stream)
        if ctx.api == "embeddings":
            return transport.embeddings(deployment, body)
        if ctx.api == "completions":
            return transport.completions(deployment, body, stream)
        if ctx.api == "responses":
            return transport.responses(deployment, body, stream)
        return transport.messages(deployment, body, stream, headers)

    return call


def _cascade_start(name: str, group: AutoGroup) -> RouteDecision:
    """A cascade's first step: its weak model answers, no router is asked."""
    return RouteDecision(name, group.weak_model, CASCADE, None, None, 0.0)


def _strong_prices(registry: Registry, group: AutoGroup) -> Prices | None:
    """Prices of the group's strong model: the baseline routing saves against."""
    deployments = registry.groups.get(group.strong or "")
    return deployments[0].price if deployments else None


def _client_error(error: UpstreamError) -> GatewayError:
    if error.status < 500 and error.status != 429:
        return GatewayError(error.status, error.message, code="upstream_error")
    if error.status == 429:
        retry = {"retry-after": str(int(error.retry_after_s or 1))}
        code = "request_shed" if error.kind == "shed" else "rate_limit_exceeded"
        return GatewayError(429, error.message, code=code, headers=retry)
    if error.kind == "unavailable":
        return GatewayError(503, error.message, code="no_deployment_available")
    if error.kind == "timeout":
        return GatewayError(504, error.message, code="upstream_timeout")
    return GatewayError(502, error.message, code="upstream_error")
