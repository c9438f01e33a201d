"""The configured routers, by name, as RouteLLM's Controller builds them
(`ROUTER_CLS[name](**kwargs)`).

Ours is ready before the service answers its first request. RouteLLM's router module imports
datasets, pandas, scikit-learn and transformers: about nine seconds here, more than the
start-up budget allows. So the RouteLLM table (with ours registered in it) and the other
routers load on a background thread; until then their groups answer 503, which the gateway
turns into the group's default model. A router that cannot load at all (RouteLLM's stock
routers need the Hugging Face hub or an OpenAI key) is reported with its reason.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

from router_service.calibration import QUANTILE_POINTS
from router_service.embedding import MiniLMEncoder
from router_service.scorer import NAME as OUR_ROUTER
from router_service.scorer import MiniLMScorer

log = logging.getLogger(__name__)


class Routers:
    """Loaded routers, failures with their reasons, and those still loading."""

    def __init__(self, config: dict[str, dict[str, Any]], encoder: MiniLMEncoder) -> None:
        self._config = config
        self.loaded: dict[str, Any] = {}
        self.failures: dict[str, str] = {}
        self.loading: set[str] = set(config)
        if OUR_ROUTER in config:
            self._add(OUR_ROUTER, lambda: MiniLMScorer(encoder=encoder, **config[OUR_ROUTER]))
        self._thread = threading.Thread(target=self._load_routellm, name="routellm", daemon=True)

    def start_background_loading(self) -> None:
        self._thread.start()

    def distributions(self) -> dict[str, np.ndarray]:
        """Score distributions known before any traffic: ours ships one, random's is uniform."""
        known: dict[str, np.ndarray] = {}
        ours = self.loaded.get(OUR_ROUTER)
        if isinstance(ours, MiniLMScorer):
            known[OUR_ROUTER] = ours.checkpoint.score_quantiles
        if "random" in self._config:
            known["random"] = np.linspace(0.0, 1.0, QUANTILE_POINTS)
        return known

    def _add(self, name: str, build: Callable[[], Any]) -> None:
        try:
            self.loaded[name] = build()
        except Exception as error:  # a third-party loader may fail in any way: report it
            self.failures[name] = f"{type(error).__name__}: {error}"[:500]
            log.warning("router %s not loaded: %s", name, self.failures[name])
        self.loading.discard(name)

    def _load_routellm(self) -> None:
        try:
            # Registers MiniLMRouter in RouteLLM's table as a side effect of the import.
            from router_service.router import routellm_table

            table = routellm_table()
        except Exception as error:  # without RouteLLM only ours can route: say why
            for name in list(self.loading):
                self.failures[name] = f"RouteLLM did not import: {type(error).__name__}: {error}"
            self.loading.clear()
            return
        log.info("RouteLLM router table: %s", sorted(table))
        for name, kwargs in self._config.items():
            if name == OUR_ROUTER:
                continue
            if name not in table:
                self.failures[name] = f"unknown router; RouteLLM knows {sorted(table)}"
                self.loading.discard(name)
                continue
            self._add(name, lambda cls=table[name], kw=kwargs: cls(**kw))
        log.info("routers loaded: %s; unavailable: %s", sorted(self.loaded), self.failures)
