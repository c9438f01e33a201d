"""The bench's load generator against the real simulator."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return {"name": "sim-bench", "record_limit": 500, "default": {"output_tokens": 8}}
