"""Model prices and context windows from LiteLLM's bundled cost map, read as a file.

Reading the JSON directly (not through `import litellm`) keeps the ~3 s import of LiteLLM
off start-up for gateways whose backends all speak OpenAI's format.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from llm_proxy.config.models import Backend

_COST_MAP_FILE = "model_prices_and_context_window_backup.json"


@dataclass(frozen=True, slots=True)
class ModelPrice:
    input_per_token: float
    output_per_token: float
    context_window: int | None


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


def price_of(backend: Backend) -> ModelPrice:
    """Config overrides first, then the cost map under `provider/model` or `model`."""
    entry = _cost_map().get(f"{backend.provider}/{backend.model}") or _cost_map().get(
        backend.model, {}
    )
    input_cost = _number(entry, "input_cost_per_token") or 0.0
    output_cost = _number(entry, "output_cost_per_token") or 0.0
    if backend.input_cost_per_mtok is not None:
        input_cost = backend.input_cost_per_mtok / 1e6
    if backend.output_cost_per_mtok is not None:
        output_cost = backend.output_cost_per_mtok / 1e6
    window = backend.context_window
    if window is None:
        found = _number(entry, "max_input_tokens") or _number(entry, "max_tokens")
        window = int(found) if found else None
    return ModelPrice(input_cost, output_cost, window)
