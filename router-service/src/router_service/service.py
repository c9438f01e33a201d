"""The router service's state and behaviour, apart from HTTP: route a conversation within an
auto group, embed texts, recalibrate thresholds from recent scores."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from router_service import checkpoint as checkpoint_io
from router_service.calibration import ScoreHistory, quantiles
from router_service.checkpoint_evaluation import sha256_of
from router_service.config import AutoGroup, ServiceConfig
from router_service.conversation import Message, user_turns
from router_service.embedding import MiniLMEncoder
from router_service.live_checkpoint import SHIPPED, LiveRecord, LiveWatcher, read_record
from router_service.promotion import Decision, PromotionError, promote
from router_service.registry import Routers
from router_service.routing_table import ResolvedGroup, RoutingTable
from router_service.scorer import NAME as OUR_ROUTER
from router_service.scorer import MiniLMScorer

log = logging.getLogger(__name__)


class RoutingError(Exception):
    """A request the service cannot route; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class RouteResult:
    model: str
    score: float
    threshold: float
    router: str
    latency_ms: float


@dataclass(frozen=True)
class LiveCheckpoint:
    """The checkpoint our router serves: its file name (or "shipped") and content hash."""

    name: str
    sha256: str


class RouterService:
    def __init__(self, config: ServiceConfig, encoder: MiniLMEncoder) -> None:
        self.config = config
        self.encoder = encoder
        self.routers = Routers(config.routers, encoder)
        self.table = RoutingTable(config.auto_groups, self.routers.distributions())
        self.history = ScoreHistory(config.history_size)
        configured = config.routers.get(OUR_ROUTER, {}).get("checkpoint_path")
        first = Path(configured) if configured else checkpoint_io.DEFAULT_PATH
        self.live = LiveCheckpoint(first.name if configured else SHIPPED, sha256_of(first))
        self._promotions = threading.Lock()
        self._watcher: LiveWatcher | None = None
        directory = config.checkpoints_dir
        if directory is not None and OUR_ROUTER in self.routers.loaded:
            record = read_record(directory)
            if record is not None:
                self._follow_at_start(record)
            self._watcher = LiveWatcher(directory, self._follow)

    def start_watching(self) -> None:
        """Follow promotions made elsewhere (another replica, the `promote` command)."""
        if self._watcher is not None:
            self._watcher.start()

    def stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def promote(self, name: object) -> Decision:
        """Promote the named checkpoint of the checkpoints directory if it beats the live one;
        PromotionError says why not."""
        scorer = self._our_scorer()
        directory = self.config.checkpoints_dir
        if directory is None:
            raise PromotionError("no checkpoints_dir is configured", 409, "not_configured")
        with self._promotions:
            decision = promote(directory, name, self.live.sha256)
            record = decision.record
            self._use(scorer, decision.candidate.checkpoint, record.checkpoint, record.sha256)
        return decision

    def _follow_at_start(self, record: LiveRecord) -> None:
        try:
            self._follow(record)
        except (OSError, ValueError, KeyError) as error:
            log.warning("live checkpoint %s not served: %s", record.checkpoint, error)

    def _follow(self, record: LiveRecord) -> None:
        """Serve the checkpoint a live record names (written by a promotion elsewhere)."""
        assert self.config.checkpoints_dir is not None  # only watched when there is one
        with self._promotions:
            if record.sha256 == self.live.sha256:
                return
            path = self.config.checkpoints_dir / record.checkpoint
            if sha256_of(path) != record.sha256:
                log.warning("%s differs from its live record: not served", path)
                return
            checkpoint = checkpoint_io.load(path)
            checkpoint_io.check_shape(checkpoint)
            self._use(self._our_scorer(), checkpoint, record.checkpoint, record.sha256)

    def _our_scorer(self) -> MiniLMScorer:
        scorer = self.routers.loaded.get(OUR_ROUTER)
        if not isinstance(scorer, MiniLMScorer):
            raise PromotionError(f"router {OUR_ROUTER} is not loaded", 409, "not_loaded")
        return scorer

    def _use(
        self, scorer: MiniLMScorer, checkpoint: checkpoint_io.Checkpoint, name: str, sha: str
    ) -> None:
        scorer.use(checkpoint)
        self.table.redistribute(OUR_ROUTER, checkpoint.score_quantiles)
        self.live = LiveCheckpoint(name, sha)
        log.info("live checkpoint: %s (%s)", name, sha[:12])

    def warm_up(self) -> None:
        """One pass through each loaded scorer: the first pass pays for kernel set-up, and the
        first request should not."""
        conversation: list[Message] = [{"role": "user", "content": "warm up " * 100}]
        for router in self.routers.loaded.values():
            if isinstance(router, MiniLMScorer):
                router.batch_strong_win_rates([conversation])

    def route(self, messages: list[Message], group_name: str) -> RouteResult:
        started = time.perf_counter()
        group = self._group(group_name)
        score = self._score(group.router, messages)
        decision = group.decide(score)
        self.history.add(group_name, score)
        return RouteResult(
            model=decision.model,
            score=score,
            threshold=decision.threshold,
            router=group.router,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def share_groups(self) -> list[str]:
        """The groups with at least one tier set by target_strong_share."""
        return [
            name
            for name in self.table.names()
            if any(tier.target_strong_share is not None for tier in self._config_of(name).ladder)
        ]

    def _config_of(self, name: str) -> AutoGroup:
        group = self.table.configured(name)
        if group is None:
            known = self.table.names()
            raise RoutingError(f"unknown auto group {name!r}; known: {known}", 404, "unknown_group")
        return group

    def _group(self, name: str) -> ResolvedGroup:
        router = self._config_of(name).router
        if router in self.routers.loading:
            message = f"router {router!r} of auto group {name!r} is still loading"
            raise RoutingError(message, 503, "router_loading")
        if router not in self.routers.loaded:
            reason = self.routers.failures.get(router, "not configured")
            raise RoutingError(
                f"router {router!r} of auto group {name!r} is unavailable: {reason}",
                503,
                "router_unavailable",
            )
        group = self.table.get(name)
        if group is None:
            reason = self.table.pending.get(name, "no thresholds")
            raise RoutingError(
                f"auto group {name!r} awaits calibration: {reason}", 503, "not_calibrated"
            )
        return group

    def _score(self, router_name: str, messages: list[Message]) -> float:
        router = self.routers.loaded[router_name]
        if isinstance(router, MiniLMScorer):
            return router.calculate_strong_win_rate(messages)
        # RouteLLM's stock routers read one prompt string: give them the latest user turn.
        turns = user_turns(messages)
        return float(router.calculate_strong_win_rate(turns[-1] if turns else ""))

    def recalibrate(
        self, group_names: list[str], scores: list[float] | None, min_samples: int
    ) -> dict[str, Any]:
        """Thresholds of the named groups recomputed from `scores` (the gateway's record of
        their traffic) or, when none are given, from the scores each group saw here."""
        for name in group_names:
            self._config_of(name)
        samples = {
            name: np.asarray(scores, dtype=np.float64) if scores else self.history.snapshot(name)
            for name in group_names
        }
        for name, sample in samples.items():
            if len(sample) < min_samples:
                raise RoutingError(
                    f"{len(sample)} scores for {name!r}, fewer than min_samples={min_samples}",
                    409,
                    "not_enough_scores",
                )
        groups = [self.table.recalibrate(name, quantiles(samples[name])) for name in group_names]
        return {
            "groups": [{**describe(group), "samples": len(samples[group.name])} for group in groups]
        }


def describe(group: ResolvedGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "router": group.router,
        "tiers": [
            {
                "model": rung.model,
                "threshold": rung.threshold,
                "target_strong_share": rung.target_strong_share,
            }
            for rung in group.rungs
        ],
    }
