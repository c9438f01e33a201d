"""Our router as a RouteLLM `Router`, registered in RouteLLM's router table as `minilm`, so
RouteLLM's Controller (and anything else that looks routers up by name) can use it."""

from __future__ import annotations

from router_service.routellm_bridge import routellm_routers
from router_service.scorer import NAME, MiniLMScorer

_routellm = routellm_routers()


class MiniLMRouter(MiniLMScorer, _routellm.Router):  # type: ignore[misc, name-defined]
    """RouteLLM's `route(prompt, threshold, routed_pair)` on our `calculate_strong_win_rate`."""


def routellm_table() -> dict[str, type]:
    """RouteLLM's `ROUTER_CLS`: name -> router class, ours included."""
    return dict(_routellm.ROUTER_CLS)


def register() -> None:
    _routellm.ROUTER_CLS[NAME] = MiniLMRouter
    _routellm.NAME_TO_CLS[MiniLMRouter] = NAME


register()
