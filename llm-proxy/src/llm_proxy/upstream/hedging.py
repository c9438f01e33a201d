"""When to hedge before the deadline: at a percentile of what the deployment was seen to
take, or after a fixed wait (`Hedge` in the config: per backend, per group, routing-wide).

The percentile is taken over the same figures as the deadlines (`upstream.latency`): a
stream's first bytes; a plain answer's pace times the tokens it may take. A deployment
with fewer than `min_samples` of them gets no early hedge: a percentile of a handful of
answers says little, and the deadline still hedges a hung one.
"""

from __future__ import annotations

from llm_proxy.config.models import Backend, GatewayConfig, Group, Hedge, Routing
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.overrides import setting_for


def hedge_for(config: GatewayConfig, group: str, deployment: Deployment) -> Hedge | None:
    """The backend's own hedge, else its group's, else the routing default (or none)."""
    return setting_for(config, group, deployment, _hedge)


def _hedge(scope: Backend | Group | Routing) -> Hedge | None:
    return scope.hedge


def hedge_after_s(
    hedge: Hedge, deployment: Deployment, *, stream: bool, max_tokens: int | None
) -> float | None:
    """Seconds after which an attempt on `deployment` is hedged; None: not (yet) known."""
    if hedge.after_ms is not None:
        return hedge.after_ms / 1000
    assert hedge.after_percentile is not None  # one of the two, by the config's validation
    observed = deployment.health.observed
    if observed.samples(stream) < hedge.min_samples:
        return None
    percentile = hedge.after_percentile
    typical_ms = (
        observed.first_byte_ms(percentile) if stream else observed.answer_ms(percentile, max_tokens)
    )
    return None if typical_ms is None else typical_ms / 1000


def trigger(hedge: Hedge) -> str:
    """How the spend log and the metrics name what sent the hedge: `p95`, `250ms`."""
    if hedge.after_ms is not None:
        return f"{hedge.after_ms:g}ms"
    return f"p{hedge.after_percentile:g}"
