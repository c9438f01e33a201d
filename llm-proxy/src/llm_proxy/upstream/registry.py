"""The deployments a config describes, grouped by the model names clients ask for.

A registry is immutable once built; a reload builds a new one and swaps it in, so
requests in flight finish on the deployments they started with. Health and load carry
over to the new registry for every backend whose name is kept.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from llm_proxy.config.models import Backend, GatewayConfig, Strategy
from llm_proxy.config.secrets import SecretError, resolve_secret
from llm_proxy.upstream.balancer import Chooser, make_chooser
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.health import DeploymentHealth
from llm_proxy.upstream.pricing import price_of


class RegistryError(Exception):
    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class Registry:
    def __init__(
        self,
        config: GatewayConfig,
        previous: Registry | None = None,
        stored: Mapping[str, str] | None = None,
    ) -> None:
        """`stored`: the opened provider keys that `secret:ID` references name."""
        self.config = config
        self.deployments = _deployments(config, previous, stored)
        self.groups: dict[str, list[Deployment]] = {}
        for deployment in self.deployments.values():
            for name in deployment.backend.public_names:
                self.groups.setdefault(name, []).append(deployment)
        self._choosers: dict[str, Chooser] = {
            name: make_chooser(_strategy(config, name)) for name in self.groups
        }
        # The groups whose choice reads a request's estimated tokens: a deployment with
        # max_tpm, or the usage strategy. Elsewhere the estimate is never looked at.
        self._weighed = frozenset(
            name
            for name, deployments in self.groups.items()
            if any(d.backend.max_tpm is not None for d in deployments)
            or _strategy(config, name) == "usage"
        )
        self._regions = frozenset(
            d.backend.region for d in self.deployments.values() if d.backend.region
        )
        # By region set, each cut to the regions some backend is in: bounded, whatever
        # regions requests name.
        self._served: dict[frozenset[str] | None, set[str]] = {None: set(self.groups)}
        self._askable: dict[frozenset[str] | None, frozenset[str]] = {}

    def served(self, regions: frozenset[str] | None = None) -> set[str]:
        """The groups with a deployment in one of `regions` (None: in any region, or none)."""
        served = self._served.get(regions)
        if served is not None:
            return served
        assert regions is not None
        known = regions & self._regions
        served = self._served.get(known)
        if served is None:
            served = self._served[known] = {
                name
                for name, deployments in self.groups.items()
                if any(d.backend.region in known for d in deployments)
            }
        return served

    def askable(self, regions: frozenset[str] | None = None) -> frozenset[str]:
        """The names a request may ask for in `regions`: the groups served there, the
        aliases and the auto groups (made once per region set, not per request)."""
        names = self._askable.get(regions)
        if names is None:
            routing = self.config.routing
            served = self.served(regions)
            names = frozenset({*served, *routing.aliases, *routing.auto_groups})
            self._askable[regions] = names
        return names

    def models(self) -> list[str]:
        return sorted(set(self.groups) | set(self.config.routing.aliases))

    def weighs_tokens(self, plan: Sequence[str]) -> bool:
        """Whether choosing a deployment for any group of `plan` reads estimated tokens."""
        return any(group in self._weighed for group in plan)

    def pick(
        self,
        group: str,
        session: str | None,
        avoid: Sequence[Deployment] = (),
        caller: str | None = None,
        regions: frozenset[str] | None = None,
        headroom: float = 1.0,
        tokens: int = 0,
    ) -> Deployment | None:
        """A deployment that can take `caller`'s request (of `tokens` estimated) now,
        preferring ones not tried yet; only one in `regions` when they are given, below
        `headroom` of its limits."""
        now = time.monotonic()
        ready = [
            d
            for d in self.groups.get(group, ())
            if (regions is None or d.backend.region in regions)
            and d.health.available(now, caller)
            and not d.at_capacity(now, headroom, tokens)
        ]
        fresh = [d for d in ready if d not in avoid]
        candidates = fresh or ready
        return self._choosers[group](candidates, session) if candidates else None

    def soonest_ready_s(self, group: str, regions: frozenset[str] | None = None) -> float | None:
        """Seconds until a deployment of the group (in `regions`) stops cooling down after a 429."""
        now = time.monotonic()
        waits = [
            d.health.cooldown_until - now
            for d in self.groups.get(group, ())
            if regions is None or d.backend.region in regions
        ]
        waits = [w for w in waits if w > 0]
        return min(waits) if waits else None


def _strategy(config: GatewayConfig, group: str) -> Strategy:
    routing = config.routing
    own = routing.groups[group].strategy if group in routing.groups else None
    return own or routing.strategy


def _deployments(
    config: GatewayConfig, previous: Registry | None, stored: Mapping[str, str] | None
) -> dict[str, Deployment]:
    problems: list[str] = []
    built: dict[str, Deployment] = {}
    for index, backend in enumerate(config.backends):
        try:
            ref = backend.api_key_ref
            api_key = resolve_secret(ref, stored) if ref else None
        except SecretError as exc:
            problems.append(f"backends.{index}.api_key_ref: {exc}")
            continue
        built[backend.name] = _deployment(config, backend, api_key, previous)
    if problems:
        raise RegistryError(problems)
    return built


def _deployment(
    config: GatewayConfig, backend: Backend, api_key: str | None, previous: Registry | None
) -> Deployment:
    policy = config.routing.circuit_breaker
    old = previous.deployments.get(backend.name) if previous else None
    health = old.health if old else DeploymentHealth(policy)
    health.policy = policy
    deployment = Deployment(backend, api_key, price_of(backend), health)
    deployment.deadlines = backend.deadlines or config.routing.deadlines
    deployment.usage.window_s = backend.quota_window_s
    if old is not None:
        deployment.usage = old.usage
        deployment.usage.window_s = backend.quota_window_s
    return deployment
