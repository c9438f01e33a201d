"""Choosing a deployment in a model group, by the group's strategy.

Each strategy is a function of the candidates that are available now (circuit closed or
probing, not cooling down after a 429, under max_rpm/max_tpm). LiteLLM's Router keeps
its selection state in its own logging callbacks, which only its 4 ms completion path
feeds; these read the state the gateway keeps for every attempt, at a few µs a choice.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import random
from collections.abc import Callable, Sequence

from llm_proxy.config.models import Strategy
from llm_proxy.upstream.deployment import Deployment

Chooser = Callable[[Sequence[Deployment], str | None], Deployment]


def _weighted(candidates: Sequence[Deployment], _: str | None) -> Deployment:
    if len(candidates) == 1:
        return candidates[0]
    return random.choices(candidates, weights=[d.backend.weight for d in candidates])[0]


class _RoundRobin:
    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self, candidates: Sequence[Deployment], _: str | None) -> Deployment:
        return candidates[next(self._counter) % len(candidates)]


def _priority(candidates: Sequence[Deployment], session: str | None) -> Deployment:
    # Unavailable or full deployments were already filtered out, so the best priority
    # left is the one to use: overflow happens only when the higher tier cannot serve.
    best = min(d.backend.priority for d in candidates)
    return _weighted([d for d in candidates if d.backend.priority == best], session)


def _least_busy(candidates: Sequence[Deployment], _: str | None) -> Deployment:
    fewest = min(d.in_flight for d in candidates)
    return random.choice([d for d in candidates if d.in_flight == fewest])


def _latency(candidates: Sequence[Deployment], session: str | None) -> Deployment:
    # A deployment with no measurement yet is tried first, so every one gets measured.
    unmeasured = [d for d in candidates if d.health.latency_ewma_ms is None]
    if unmeasured:
        return random.choice(unmeasured)
    return min(candidates, key=lambda d: d.health.latency_ewma_ms or 0.0)


def _usage(candidates: Sequence[Deployment], _: str | None) -> Deployment:
    return min(candidates, key=lambda d: (d.usage.current()[1], random.random()))


def _cost(candidates: Sequence[Deployment], session: str | None) -> Deployment:
    cheapest = min(d.price.per_token_pair for d in candidates)
    tied = [d for d in candidates if d.price.per_token_pair == cheapest]
    return _weighted(tied, session)


def _session(candidates: Sequence[Deployment], session: str | None) -> Deployment:
    """Rendezvous hashing: a session keeps its deployment while that one stays available."""
    if session is None:
        return _weighted(candidates, None)

    def score(deployment: Deployment) -> float:
        digest = hashlib.blake2b(f"{session}\0{deployment.name}".encode(), digest_size=8)
        unit = (int.from_bytes(digest.digest(), "big") + 1) / 2**64
        return deployment.backend.weight / -math.log(unit)

    return max(candidates, key=score)


def make_chooser(strategy: Strategy) -> Chooser:
    choosers: dict[Strategy, Callable[[], Chooser]] = {
        "round-robin": _RoundRobin,
        "weighted": lambda: _weighted,
        "priority": lambda: _priority,
        "least-busy": lambda: _least_busy,
        "latency": lambda: _latency,
        "usage": lambda: _usage,
        "session": lambda: _session,
        "cost": lambda: _cost,
    }
    return choosers[strategy]()
