"""Loading the configured routers by name from RouteLLM's router table.

Each router is built the way RouteLLM's Controller builds it (`ROUTER_CLS[name](**kwargs)`).
One that cannot load here (RouteLLM's stock routers need the Hugging Face hub or an OpenAI key)
is reported with its reason and the service starts without it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from router_service.calibration import QUANTILE_POINTS
from router_service.embedding import MiniLMEncoder
from router_service.routellm_bridge import routellm_routers
from router_service.router import NAME as OUR_ROUTER
from router_service.router import MiniLMRouter

log = logging.getLogger(__name__)


@dataclass
class LoadedRouters:
    routers: dict[str, Any] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def distributions(self) -> dict[str, np.ndarray]:
        """Score distributions known before any traffic: ours ships one, random's is uniform."""
        known: dict[str, np.ndarray] = {}
        for name, router in self.routers.items():
            if isinstance(router, MiniLMRouter):
                known[name] = router.checkpoint.score_quantiles
            elif name == "random":
                known[name] = np.linspace(0.0, 1.0, QUANTILE_POINTS)
        return known


def load_routers(config: dict[str, dict[str, Any]], encoder: MiniLMEncoder) -> LoadedRouters:
    table = routellm_routers().ROUTER_CLS
    loaded = LoadedRouters()
    for name, kwargs in config.items():
        if name not in table:
            loaded.failures[name] = f"unknown router; RouteLLM knows {sorted(table)}"
            continue
        arguments = {**kwargs, "encoder": encoder} if name == OUR_ROUTER else dict(kwargs)
        try:
            loaded.routers[name] = table[name](**arguments)
        except Exception as error:  # any failure of a third-party loader leaves it out
            loaded.failures[name] = f"{type(error).__name__}: {error}"[:500]
            log.warning("router %s not loaded: %s", name, loaded.failures[name])
    log.info("routers loaded: %s; unavailable: %s", sorted(loaded.routers), sorted(loaded.failures))
    return loaded
