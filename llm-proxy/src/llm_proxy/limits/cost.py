"""What a request costs, in nano-USD: integers keep the Redis counters exact.

Prices come from `upstream.pricing.price_of` (LiteLLM's bundled cost map and the
backend's per-token overrides); a self-hosted backend may instead give its GPU's hourly
rate and throughput, which price every token alike.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from llm_proxy.upstream.deployment import Deployment

NANO_PER_USD = 1_000_000_000


def token_prices(deployment: Deployment) -> tuple[float, float]:
    """USD per input token and per output token."""
    backend = deployment.backend
    if backend.gpu_hour_usd is not None and backend.gpu_tokens_per_s:
        per_token = backend.gpu_hour_usd / 3600 / backend.gpu_tokens_per_s
        return per_token, per_token
    return deployment.price.input_per_token, deployment.price.output_per_token


def nano_usd(prices: tuple[float, float], input_tokens: int, output_tokens: int) -> int:
    usd = prices[0] * input_tokens + prices[1] * output_tokens
    return math.ceil(usd * NANO_PER_USD)


def highest_prices(deployments: Iterable[Deployment]) -> tuple[float, float]:
    """Before routing the deployment is unknown: reserve at the dearest that may answer."""
    prices = [token_prices(d) for d in deployments]
    if not prices:
        return 0.0, 0.0
    return max(p[0] for p in prices), max(p[1] for p in prices)
