"""Prometheus metrics for `GET /metrics`, updated once per finished request.

Labels are bounded: model groups, providers and deployments come from the config, teams
from the admin API, statuses from HTTP; never a request id, a key or a raw model name a
client typed. With `PROMETHEUS_MULTIPROC_DIR` set (several worker processes), values live
in that directory and every worker's scrape adds them all up; the circuit gauges and the spool
backlog are read from the answering worker's own view at scrape time.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from llm_proxy.limits.counters import Crossing
from llm_proxy.upstream.health import CircuitState
from llm_proxy.upstream.registry import Registry

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.outcome import Outcome
    from llm_proxy.upstream.admission import Ticket

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Fine steps of 0.5 ms where the gateway's own work lives, coarser out to slow answers.
_OVERHEAD_BUCKETS = (
    *(i / 2000 for i in range(1, 11)),  # 0.5 ms … 5 ms
    0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip
_LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25,
    0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0,
)  # fmt: skip

_PERIOD_KINDS = {"d": "daily", "m": "monthly"}
_CIRCUIT_VALUES = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


def _multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ


# Requests waiting for a saturated group, per group and priority class (upstream.admission).
QueueDepths = Callable[[], dict[str, dict[str, int]]]


class Metrics:
    def __init__(
        self,
        registry: Callable[[], Registry],
        spooled: Callable[[], int],
        queues: QueueDepths | None = None,
    ) -> None:
        self._routing = registry
        self._registry = CollectorRegistry()
        # In multi-process mode values are written to files, not kept in a registry.
        own = None if _multiprocess() else self._registry
        self._live = _LiveState(registry, spooled, queues)
        if own is not None:
            own.register(self._live)

        self.requests = Counter(
            "gateway_requests_total",
            "Requests that reached the gateway, by answering model group, provider, status, team.",
            ("model", "provider", "status", "team"),
            registry=own,
        )
        self.tokens = Counter(
            "gateway_tokens_total",
            "Tokens used, by model group and type (input, output, cached).",
            ("model", "type"),
            registry=own,
        )
        self.cost = Counter(
            "gateway_cost_usd_total",
            "What the answers cost in US dollars, by team and model group.",
            ("team", "model"),
            registry=own,
        )
        self.duration = Histogram(
            "gateway_request_duration_seconds",
            "From the request's arrival to its last byte (streams: their end).",
            ("model",),
            buckets=_LATENCY_BUCKETS,
            registry=own,
        )
        self.ttft = Histogram(
            "gateway_ttft_seconds",
            "Time to the first streamed byte, for streamed answers.",
            ("model",),
            buckets=_LATENCY_BUCKETS,
            registry=own,
        )
        self.overhead = Histogram(
            "gateway_overhead_seconds",
            "Time the gateway itself added: the request's duration less upstream time.",
            buckets=_OVERHEAD_BUCKETS,
            registry=own,
        )
        self.active = Gauge(
            "gateway_active_requests",
            "Requests in progress.",
            multiprocess_mode="livesum",
            registry=own,
        )
        self.retries = Counter(
            "gateway_upstream_retries_total",
            "Upstream attempts after a request's first, by the model group first tried.",
            ("model",),
            registry=own,
        )
        self.fallbacks = Counter(
            "gateway_fallbacks_total",
            "Requests answered by a fallback group, by the group first tried.",
            ("model",),
            registry=own,
        )
        self.hedges = Counter(
            "gateway_hedges_total",
            "Requests hedged (also sent to another deployment), by group, what sent the "
            "hedge (deadline, p95, 250ms, ...) and which attempt answered (first, hedge, none).",
            ("model", "trigger", "answered_by"),
            registry=own,
        )
        self.router_decisions = Counter(
            "gateway_router_decisions_total",
            "Auto-routing decisions: the model chosen, and whether the router or the "
            "group's default (and why) chose it.",
            ("group", "choice", "decided_by"),
            registry=own,
        )
        self.shadow_runs = Counter(
            "gateway_shadow_runs_total",
            "Shadow judging runs of auto requests, by group and outcome (labelled, busy: "
            "skipped at the concurrency cap, unjudged, failed, timeout, unpaid, unpaired, "
            "unreadable).",
            ("group", "outcome"),
            registry=own,
        )
        self.cache_lookups = Counter(
            "gateway_cache_lookups_total",
            "Response cache lookups by result (hit, semantic_hit, miss, bypass).",
            ("result",),
            registry=own,
        )
        self.rate_limited = Counter(
            "gateway_rate_limited_total",
            "Requests refused by a rate limit, by the limit's dimension (rpm, tpm, …).",
            ("dimension",),
            registry=own,
        )
        self.guardrail_hits = Counter(
            "gateway_guardrail_hits_total",
            "Guardrail findings, by check (pii, secrets, deny_list, …) and action taken.",
            ("check", "action"),
            registry=own,
        )
        self.prompt_log_keys_unresolved = Gauge(
            "gateway_prompt_log_keys_unresolved",
            "Keys of guardrails.prompt_log that do not resolve, as last resolved for an "
            "opted-in request's record (while the first one is among them, no prompt is "
            "logged).",
            multiprocess_mode="max",
            registry=own,
        )
        self.priority_requests = Counter(
            "gateway_priority_requests_total",
            "Requests under routing policies, by priority class, team and outcome "
            "(served, shed, failed).",
            ("class", "team", "outcome"),
            registry=own,
        )
        self.priority_tokens = Counter(
            "gateway_priority_tokens_total",
            "Tokens answered under routing policies, by priority class and team.",
            ("class", "team"),
            registry=own,
        )
        self.queue_wait = Histogram(
            "gateway_priority_queue_wait_seconds",
            "Time requests waited for a saturated model group, by priority class.",
            ("class",),
            buckets=_LATENCY_BUCKETS,
            registry=own,
        )
        self.budget_utilization = Gauge(
            "gateway_budget_utilization",
            "Share of a budget spent in its period (1.0: exhausted), by scope and its id.",
            ("scope", "id", "period"),
            multiprocess_mode="mostrecent",
            registry=own,
        )

        # What every finished request updates, by label values (see `_Counts`).
        shared = own is None
        self._requests = _Counts(self.requests, shared)
        self._tokens = _Counts(self.tokens, shared)
        self._cost = _Counts(self.cost, shared)
        self._duration = _Observations(self.duration, shared)
        self._ttft = _Observations(self.ttft, shared)
        self._overhead = _Observe(self.overhead, shared)
        self._cache_lookups = _Counts(self.cache_lookups, shared)
        self._router_decisions = _Counts(self.router_decisions, shared)
        # Requests in progress: in one process a plain count the gauge reads when scraped
        # (its inc and dec cost a request about 2 µs); across workers the gauge's own value.
        self._active = 0
        self._shared_active = own is None
        if own is not None:
            self.active.set_function(lambda: self._active)

    def started(self) -> None:
        if self._shared_active:
            self.active.inc()
        else:
            self._active += 1

    def finished(self, ctx: RequestContext, outcome: Outcome) -> None:
        if self._shared_active:
            self.active.dec()
        else:
            self._active -= 1
        dispatch = ctx.dispatch
        model = dispatch.group or self._model_label(ctx)
        deployment = dispatch.deployment
        team = ctx.identity.team_id or ""
        provider = deployment.backend.provider if deployment else ""
        self._requests.of(model, provider, str(ctx.status), team).value += 1
        run = ctx.optimizer
        # An optimizer run's sub-calls counted their tokens and cost as each ended; the
        # parent carries their sums, so counting it as well would count the fan-out twice.
        if run is None or run.fanout is None:
            usage = ctx.usage
            if count := usage.prompt_tokens:
                self._tokens.of(model, "input").value += count
            if count := usage.completion_tokens:
                self._tokens.of(model, "output").value += count
            if count := usage.cached_tokens:
                self._tokens.of(model, "cached").value += count
            if outcome.cost_usd:
                self._cost.of(team, model).value += outcome.cost_usd
        self._duration.of(model).observe(outcome.latency_s)
        self._overhead.observe(outcome.overhead_s)
        if ctx.ttft_ms is not None:
            self._ttft.of(model).observe(ctx.ttft_ms / 1000)
        self._dispatch_outcome(ctx)
        ticket = ctx.ticket
        if ticket is not None:
            self._policy_outcome(ctx, ticket, team)
        for hit in ctx.guard_hits:
            self.guardrail_hits.labels(hit.check, hit.action).inc(hit.count)

    def _model_label(self, ctx: RequestContext) -> str:
        """The group for a request that was not dispatched (refused, or a cache hit):
        what it asked for if the gateway serves it, never an arbitrary client string."""
        if ctx.plan:
            return ctx.plan[0]
        requested = ctx.requested_model
        return requested if requested in self._routing().groups else ""

    def _dispatch_outcome(self, ctx: RequestContext) -> None:
        dispatch = ctx.dispatch
        attempts = dispatch.attempts
        # A fallback takes a second attempt: one attempt needs no look at the groups.
        if len(attempts) > 1:
            self.retries.labels(attempts[0].group).inc(len(attempts) - 1)
            if dispatch.fallback_used:
                self.fallbacks.labels(attempts[0].group).inc()
        if dispatch.hedge_trigger is not None:
            deployment = dispatch.deployment
            answered_by = (
                "none"
                if deployment is None
                else "hedge"
                if deployment.name in dispatch.hedged_to
                else "first"
            )
            self.hedges.labels(attempts[0].group, dispatch.hedge_trigger, answered_by).inc()
        if ctx.limited_by is not None:
            self.rate_limited.labels(ctx.limited_by).inc()
        if ctx.cache_result is not None:
            # "semantic;sim=0.97" carries a score; the label keeps only the kind.
            self._cache_lookups.of(
                ctx.cache_result.partition(";")[0].replace("semantic", "semantic_hit")
            ).value += 1
        route = ctx.route
        if route is not None:
            decided_by = "router" if route.fallback_reason is None else route.fallback_reason
            self._router_decisions.of(route.group, route.model, decided_by).value += 1

    def _policy_outcome(self, ctx: RequestContext, ticket: Ticket, team: str) -> None:
        outcome = "shed" if ticket.shed else "served" if ctx.status < 400 else "failed"
        self.priority_requests.labels(ticket.cls, team, outcome).inc()
        if ctx.usage.total_tokens:
            self.priority_tokens.labels(ticket.cls, team).inc(ctx.usage.total_tokens)
        if ctx.dispatch.attempts or ticket.shed:
            self.queue_wait.labels(ticket.cls).observe(ticket.waited_s)

    def budget_crossed(self, crossing: Crossing) -> None:
        """A budget reached an alert threshold (the limits' alert hook calls this)."""
        counter = crossing.counter
        scope, _, scope_id = counter.owner.partition(":")
        # Budget counter keys end in "<unit>:<period>": "usd:d2025-01-31", "tokens:m2025-01".
        # The label keeps the period's kind only, so it does not grow a new value each day.
        unit, period = counter.key.split(":")[-2:]
        kind = _PERIOD_KINDS.get(period[:1], "period")
        utilization = crossing.used / counter.limit if counter.limit else 1.0
        self.budget_utilization.labels(scope, scope_id, f"{kind}_{unit}").set(utilization)

    def exposition(self) -> bytes:
        """The text format, for `GET /metrics` (content type: `CONTENT_TYPE`)."""
        if not _multiprocess():
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._live)
        return generate_latest(registry)

    def close(self) -> None:
        """In multi-process mode, drop this process's live gauges from the shared sums."""
        if _multiprocess():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _Tally:
    """A metric value a finished request adds to in place (`tally.value += amount`), for
    the one process's registry: what prometheus-client's value (`values.MutexValue`)
    does, less its lock. The lock guards against other threads; these values are only
    ever added to on the event loop's thread, and read there too, by `/metrics`. An add
    was a call of the value's `inc` and a lock taken and let go, ten a request.

    It stands in for the client's value object (`get`, `set`, `inc` and the exemplar's
    pair are what the client's children call on it), so the exposition is the same."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = 0.0

    def inc(self, amount: float) -> None:
        self.value += amount

    def set(self, value: float, timestamp: float | None = None) -> None:
        self.value = value

    def get(self) -> float:
        return self.value

    def set_exemplar(self, exemplar: object) -> None:
        """No exemplars: the gateway sets none on these metrics."""

    def get_exemplar(self) -> None:
        return None


class _SharedTally:
    """`_Tally`'s `value` on a value shared across worker processes (a file each, summed
    at scrape time: `PROMETHEUS_MULTIPROC_DIR`), through that value's own methods."""

    __slots__ = ("_shared",)

    def __init__(self, shared: Any) -> None:
        self._shared = shared

    @property
    def value(self) -> float:
        return float(self._shared.get())

    @value.setter
    def value(self, value: float) -> None:
        self._shared.set(value)


Value = _Tally | _SharedTally


def _tally(owner: Any, name: str, shared: bool) -> Value:
    """`owner`'s value `name` (a child's `_value`, a histogram's `_sum`) as a tally; in
    one process the tally takes the value's place."""
    if shared:
        return _SharedTally(getattr(owner, name))
    tally = _Tally()
    setattr(owner, name, tally)
    return tally


class _Counts:
    """A counter's labelled children, kept by their label values, as tallies of their values.

    prometheus-client's `labels()` checks its arguments and takes a lock on every call
    (about 6 µs here), and a child's `inc` checks that it is a child and that the amount
    is not negative before it adds: a finished request updates up to ten of them, with
    amounts it knows are not negative. The label values are bounded (see the module's
    docstring), so this dict is too.
    """

    __slots__ = ("_by_values", "_labels", "_shared")

    def __init__(self, metric: Counter, shared: bool) -> None:
        self._labels = metric.labels
        self._shared = shared
        self._by_values: dict[tuple[str, ...], Value] = {}

    def of(self, *values: str) -> Value:
        tally = self._by_values.get(values)
        if tally is None:
            child = self._labels(*values)
            tally = self._by_values[values] = _tally(child, "_value", self._shared)
        return tally


class _Observe:
    """What `Histogram.observe` does (the sum, then the first bucket whose bound is not
    below the amount), the bucket found by bisection instead of a loop over them all."""

    __slots__ = ("_bounds", "_buckets", "_sum")

    def __init__(self, histogram: Histogram, shared: bool) -> None:
        self._sum = _tally(histogram, "_sum", shared)
        buckets = histogram._buckets
        if shared:
            self._buckets: list[Value] = [_SharedTally(bucket) for bucket in buckets]
        else:
            tallies = [_Tally() for _ in buckets]
            buckets[:] = tallies
            self._buckets = list(tallies)
        self._bounds = list(histogram._upper_bounds)

    def observe(self, amount: float) -> None:
        self._sum.value += amount
        self._buckets[bisect_left(self._bounds, amount)].value += 1


class _Observations:
    """A histogram's labelled children, kept by their label values (as `_Counts`)."""

    __slots__ = ("_by_values", "_labels", "_shared")

    def __init__(self, metric: Histogram, shared: bool) -> None:
        self._labels = metric.labels
        self._shared = shared
        self._by_values: dict[tuple[str, ...], _Observe] = {}

    def of(self, *values: str) -> _Observe:
        observe = self._by_values.get(values)
        if observe is None:
            observe = _Observe(self._labels(*values), self._shared)
            self._by_values[values] = observe
        return observe


class _LiveState(Collector):
    """Deployment health and the spend spool, read when scraped: no work per request."""

    def __init__(
        self,
        registry: Callable[[], Registry],
        spooled: Callable[[], int],
        queues: QueueDepths | None,
    ) -> None:
        self._registry = registry
        self._spooled = spooled
        self._queues = queues

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "gateway_backend_up",
            "1 when a deployment can take requests now (circuit not open, not benched).",
            labels=("deployment", "provider"),
        )
        circuit = GaugeMetricFamily(
            "gateway_circuit_state",
            "Circuit breaker per deployment: 0 closed, 1 half-open, 2 open.",
            labels=("deployment",),
        )
        now = time.monotonic()
        for deployment in self._registry().deployments.values():
            health = deployment.health
            up.add_metric((deployment.name, deployment.provider), float(health.available(now)))
            circuit.add_metric((deployment.name,), _CIRCUIT_VALUES[health.state])
        yield up
        yield circuit
        if self._queues is not None:
            depth = GaugeMetricFamily(
                "gateway_priority_queue_depth",
                "Requests waiting for a saturated model group now, by group and priority class.",
                labels=("model", "class"),
            )
            for group, classes in self._queues().items():
                for cls, count in classes.items():
                    depth.add_metric((group, cls), count)
            yield depth
        yield GaugeMetricFamily(
            "gateway_spend_spool_backlog",
            "Spend-log records spooled on local disk, waiting for the database.",
            value=self._spooled(),
        )
