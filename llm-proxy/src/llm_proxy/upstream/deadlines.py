"""When an attempt is late: a deadline from what its deployment was seen to take.

A fixed timeout is either too long for a hung provider (600 s by default) or too short
for a long answer. The deadline here follows each deployment: a stream's first byte is
due within `multiplier` times the p95 of its first bytes so far; a plain answer, whose
headers come only with the whole body, within `multiplier` times the p95 of its
milliseconds per output token times the tokens this request may produce (its max_tokens,
else the p95 of the answers seen). Both are clamped to [floor_s, cap_s]; a deployment
not measured yet gets cap_s, since nothing says what is late for it.
"""

from __future__ import annotations

from llm_proxy.config.models import Backend, Deadlines, GatewayConfig, Group, Routing
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.latency import ObservedLatency
from llm_proxy.upstream.overrides import setting_for


def policy_for(config: GatewayConfig, group: str, deployment: Deployment) -> Deadlines:
    """The backend's own deadlines, else its group's, else the routing defaults."""
    return setting_for(config, group, deployment, _deadlines) or config.routing.deadlines


def _deadlines(scope: Backend | Group | Routing) -> Deadlines | None:
    return scope.deadlines


def deadline_s(
    policy: Deadlines, observed: ObservedLatency, *, stream: bool, max_tokens: int | None
) -> float:
    typical_ms = observed.first_byte_p95_ms() if stream else observed.answer_p95_ms(max_tokens)
    if typical_ms is None:
        return policy.cap_s
    return min(policy.cap_s, max(policy.floor_s, policy.multiplier * typical_ms / 1000))
