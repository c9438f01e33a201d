"""Fixtures shared by every test package: real processes on loopback, never mocks."""

from __future__ import annotations

import os

# Every process that may import LiteLLM must not fetch its price list from the network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

# `simulator` and `sim`, for every package that defines its `sim_config`.
pytest_plugins = ("tests.support.simulation",)
