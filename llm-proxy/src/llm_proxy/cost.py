"""The one rule for what a request cost: prices times the usage it is charged for.

Every consumer of a cost (metrics, the request log line, the spend log, budgets, the
cache's savings, the routing savings report) takes it from here, so they cannot disagree:

- `charged_usage`: what an answer is charged for. When the upstream never reported
  usage (a stream cut, or its client gone, before the usage chunk), the prompt was
  still read in full, so its counted tokens stand, and the output is what was streamed.
  The count is asked for only then: most answers report their usage, and counting
  loads the tokenizer's table (~80 MiB) and costs a few percent of a request's CPU.
- `cost_usd`: those tokens at the answering deployment's prices. A cache hit used no
  tokens and costs nothing; what it saved is the cost of the answer it replays, worked
  out by this same function when that answer was made.
- `nano_usd`: the same cost as the budget counters keep it, rounded up to whole nano-USD.

It imports only the value types it multiplies.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from llm_proxy.prices import Prices
from llm_proxy.usage import Usage

NANO_PER_USD = 1_000_000_000


def charged_usage(reported: Usage, prompt_tokens: Callable[[], int]) -> Usage:
    """The usage to charge; `prompt_tokens` gives the gateway's own count of the prompt."""
    if reported.prompt_tokens:
        return reported
    counted = prompt_tokens()
    if not counted:
        return reported
    return Usage(counted, reported.completion_tokens, reported.cached_tokens)


def cost_usd(prices: Prices, usage: Usage) -> float:
    return (
        prices.input_per_token * usage.prompt_tokens
        + prices.output_per_token * usage.completion_tokens
    )


def nano_usd(usd: float) -> int:
    return math.ceil(usd * NANO_PER_USD)
