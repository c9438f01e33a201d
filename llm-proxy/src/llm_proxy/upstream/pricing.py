"""A deployment's prices: the backend's overrides, else LiteLLM's bundled cost map (read as a file).

Reading the JSON directly (not through `import litellm`) keeps the ~3 s import of LiteLLM
off start-up for gateways whose backends all speak OpenAI's format. A self-hosted backend
may instead give its GPU's hourly rate and throughput, which price every token alike.
"""

from __future__ import annotations

import importlib.util
import json
from functools import cache
from pathlib import Path

from llm_proxy.config.models import Backend
from llm_proxy.prices import Prices

_COST_MAP_FILE = "model_prices_and_context_window_backup.json"


@cache
def _cost_map() -> dict[str, dict[str, object]]:
    spec = importlib.util.find_spec("litellm")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / _COST_MAP_FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _number(entry: dict[str, object], key: str) -> float | None:
    value = entry.get(key)
    return float(value) if isinstance(value, int | float) else None


def price_of(backend: Backend) -> Prices:
    """GPU pricing first, then per-token overrides, then the cost map under `provider/model`
    or `model`."""
    if backend.gpu_hour_usd is not None and backend.gpu_tokens_per_s:
        per_token = backend.gpu_hour_usd / 3600 / backend.gpu_tokens_per_s
        return Prices(per_token, per_token)
    entry = _cost_map().get(f"{backend.provider}/{backend.model}") or _cost_map().get(
        backend.model, {}
    )
    input_cost = _number(entry, "input_cost_per_token") or 0.0
    output_cost = _number(entry, "output_cost_per_token") or 0.0
    if backend.input_cost_per_mtok is not None:
        input_cost = backend.input_cost_per_mtok / 1e6
    if backend.output_cost_per_mtok is not None:
        output_cost = backend.output_cost_per_mtok / 1e6
    return Prices(input_cost, output_cost)
