"""What one token costs at a deployment, in USD: the other factor of every cost.

A value type, built once per deployment from LiteLLM's cost map and the backend's
overrides (`upstream.pricing.price_of`). It imports nothing else of the package.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prices:
    input_per_token: float = 0.0
    output_per_token: float = 0.0

    @property
    def per_token_pair(self) -> float:
        """Input and output price together: how the cost strategy ranks deployments."""
        return self.input_per_token + self.output_per_token


FREE = Prices()


def highest(prices: Iterable[Prices]) -> Prices:
    """Before routing the deployment is unknown: reserve at the dearest that may answer."""
    known = list(prices)
    if not known:
        return FREE
    return Prices(max(p.input_per_token for p in known), max(p.output_per_token for p in known))
