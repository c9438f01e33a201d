"""Prometheus metrics for `GET /metrics`, updated once per finished request.

Labels are bounded: model groups, providers and deployments come from the config, teams
from the admin API, statuses from HTTP; never a request id, a key or a raw model name a
client typed. With `PROMETHEUS_MULTIPROC_DIR` set (several worker processes), values live
in that directory and every worker's scrape adds them all up; the circuit gauges are read
from the answering worker's own view at scrape time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

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

from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.health import CircuitState

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.observer import Outcome

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

_CIRCUIT_VALUES = {CircuitState.CLOSED: 0, CircuitState.HALF_OPEN: 1, CircuitState.OPEN: 2}


def _multiprocess() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ


class Metrics:
    def __init__(self, deployments: Callable[[], Iterable[Deployment]]) -> None:
        self._registry = CollectorRegistry()
        # In multi-process mode values are written to files, not kept in a registry.
        own = None if _multiprocess() else self._registry
        self._circuits = _Circuits(deployments)
        if own is not None:
            own.register(self._circuits)

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
        self.router_decisions = Counter(
            "gateway_router_decisions_total",
            "Auto-routing decisions: the model chosen, and whether the router or the "
            "group's default (and why) chose it.",
            ("group", "choice", "decided_by"),
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
        self.budget_utilization = Gauge(
            "gateway_budget_utilization",
            "Share of a budget spent in its period (1.0: exhausted), by scope and its id.",
            ("scope", "id", "period"),
            multiprocess_mode="mostrecent",
            registry=own,
        )
        self.spool_backlog = Gauge(
            "gateway_spend_spool_backlog",
            "Spend-log records spooled locally, waiting for the database.",
            multiprocess_mode="livesum",
            registry=own,
        )

    def started(self) -> None:
        self.active.inc()

    def finished(self, ctx: RequestContext, outcome: Outcome) -> None:
        self.active.dec()
        dispatch = ctx.dispatch
        model = dispatch.group or (ctx.plan[0] if ctx.plan else "")
        deployment = dispatch.deployment
        team = ctx.identity.team_id or ""
        self.requests.labels(
            model, deployment.provider if deployment else "", str(ctx.status), team
        ).inc()
        usage = ctx.usage
        for kind, count in (
            ("input", usage.prompt_tokens),
            ("output", usage.completion_tokens),
            ("cached", usage.cached_tokens),
        ):
            if count:
                self.tokens.labels(model, kind).inc(count)
        if outcome.cost_usd:
            self.cost.labels(team, model).inc(outcome.cost_usd)
        self.duration.labels(model).observe(outcome.latency_s)
        self.overhead.observe(outcome.overhead_s)
        if ctx.ttft_ms is not None:
            self.ttft.labels(model).observe(ctx.ttft_ms / 1000)
        self._dispatch_outcome(ctx)

    def _dispatch_outcome(self, ctx: RequestContext) -> None:
        attempts = ctx.dispatch.attempts
        if len(attempts) > 1:
            self.retries.labels(attempts[0].group).inc(len(attempts) - 1)
        if ctx.dispatch.fallback_used:
            self.fallbacks.labels(attempts[0].group).inc()
        route = ctx.route
        if route is not None:
            decided_by = "router" if route.fallback_reason is None else route.fallback_reason
            self.router_decisions.labels(route.group, route.model, decided_by).inc()

    def exposition(self) -> bytes:
        """The text format, for `GET /metrics` (content type: `CONTENT_TYPE`)."""
        if not _multiprocess():
            return generate_latest(self._registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self._circuits)
        return generate_latest(registry)

    def close(self) -> None:
        """In multi-process mode, drop this process's live gauges from the shared sums."""
        if _multiprocess():
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class _Circuits(Collector):
    """Deployment health, read when scraped: nothing to update on the request path."""

    def __init__(self, deployments: Callable[[], Iterable[Deployment]]) -> None:
        self._deployments = deployments

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
        for deployment in self._deployments():
            health = deployment.health
            up.add_metric((deployment.name, deployment.provider), float(health.available(now)))
            circuit.add_metric((deployment.name,), _CIRCUIT_VALUES[health.state])
        yield up
        yield circuit
