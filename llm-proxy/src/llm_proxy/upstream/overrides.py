"""A dispatch setting at its most specific: the backend's own, else its group's, else the
routing-wide one (deadlines, hedging)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from llm_proxy.config.models import Backend, GatewayConfig, Group, Routing
from llm_proxy.upstream.deployment import Deployment

S = TypeVar("S")


def setting_for(
    config: GatewayConfig,
    group: str,
    deployment: Deployment,
    pick: Callable[[Backend | Group | Routing], S | None],
) -> S | None:
    own = pick(deployment.backend)
    if own is not None:
        return own
    configured = config.routing.groups.get(group)
    if configured is not None and (shared := pick(configured)) is not None:
        return shared
    return pick(config.routing)
