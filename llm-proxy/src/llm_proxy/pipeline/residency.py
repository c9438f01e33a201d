"""Residency: the regions a request may be served in, from its team's and key's policies and
what the request itself asks (`metadata.region` or `x-gateway-region`).

The regions bound every later choice: only deployments whose backend is in one of them are
candidates (the requested group, fallbacks, equivalents, `model: auto`'s pick), cached
answers are kept apart per region set, and an optimizer's sub-calls inherit their parent's.
A request never widens its policy: asking for a region the policy does not permit is
refused, and when no deployment is left the request is refused (403) before anything is
sent, naming the policy; it is never served abroad instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llm_proxy.config.policies import Policies
from llm_proxy.pipeline.errors import GatewayError, bad_request

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext

# What the policy is called when only the request narrowed its regions.
REQUEST_POLICY = "request"
_MAX_REGIONS = 16


@dataclass(frozen=True, slots=True)
class Residency:
    """The regions a request may be served in, and the policy (or policies) that set them."""

    policy: str
    regions: frozenset[str]

    @property
    def scope(self) -> str:
        """The region set as text: where a cached answer may be served again."""
        return ",".join(sorted(self.regions))

    def refusal(self, model: str) -> GatewayError:
        return GatewayError(
            403,
            f"No deployment of `{model}` is in a region residency policy `{self.policy}` "
            f"allows ({', '.join(sorted(self.regions))}); the request was not sent.",
            code="no_deployment_in_region",
        )


class ResidencyRules:
    """The config's residency policies indexed by team and key, rebuilt when the config changes."""

    def __init__(self) -> None:
        self._source: Policies | None = None
        self._teams: dict[str, Residency] = {}
        self._keys: dict[str, Residency] = {}

    def resolve(self, ctx: RequestContext, policies: Policies) -> Residency | None:
        """The request's regions, or None when nothing restricts them."""
        if policies is not self._source:
            self._index(policies)
        identity = ctx.identity
        bound: Residency | None = None
        if self._teams and identity.team_id is not None:
            bound = self._teams.get(identity.team_id)
        if self._keys and identity.key_id is not None:
            bound = _within(bound, self._keys.get(identity.key_id))
        delegation = ctx.delegation
        if delegation is not None:
            # An optimizer's sub-call: never wider than the request that started the run.
            bound = _within(bound, delegation.residency)
        asked = _asked(ctx)
        if asked is None:
            return bound
        if bound is None:
            return Residency(REQUEST_POLICY, asked)
        outside = asked - bound.regions
        if outside:
            raise GatewayError(
                403,
                f"Residency policy `{bound.policy}` does not permit region "
                f"{', '.join(sorted(outside))}; it permits {', '.join(sorted(bound.regions))}.",
                code="region_not_permitted",
                param="metadata.region",
            )
        return Residency(bound.policy, asked)

    def _index(self, policies: Policies) -> None:
        self._teams, self._keys = {}, {}
        for name, policy in policies.residency.items():
            residency = Residency(name, frozenset(policy.regions))
            self._teams.update(dict.fromkeys(policy.teams, residency))
            self._keys.update(dict.fromkeys(policy.keys, residency))
        self._source = policies


def _within(bound: Residency | None, other: Residency | None) -> Residency | None:
    """Both policies hold: the regions they share (possibly none)."""
    if bound is None or other is None:
        return bound or other
    if bound.policy == other.policy:
        return bound
    return Residency(f"{bound.policy}+{other.policy}", bound.regions & other.regions)


def _asked(ctx: RequestContext) -> frozenset[str] | None:
    """The regions the request names: `metadata.region` (a name or a list), else the header."""
    value: Any = ctx.metadata.get("region")
    param = "metadata.region"
    if value is None:
        header = ctx.headers.get("x-gateway-region")
        if header is None:
            return None
        value, param = [part.strip() for part in header.split(",")], "x-gateway-region"
    names = [value] if isinstance(value, str) else value
    if (
        not isinstance(names, list)
        or not 0 < len(names) <= _MAX_REGIONS
        or not all(isinstance(n, str) and 0 < len(n) <= 64 for n in names)
    ):
        raise bad_request(
            f"Invalid '{param}': expected a region name or a list of up to {_MAX_REGIONS}.",
            param=param,
        )
    return frozenset(names)
