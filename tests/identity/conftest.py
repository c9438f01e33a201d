"""Gateways whose callers prove who they are with signed tokens or client certificates.

A package-wide simulator plays the provider; each module starts its gateway once, with
its database in a scratch PostgreSQL database and its counters in Redis under a fresh
prefix, so budgets are charged where they are in production.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.databases import scratch_redis_prefix
from tests.support.processes import Simulator

REDIS_URL = "redis://127.0.0.1:6379/0"
MASTER_KEY = "sk-test-master"
# $1 per output token, nothing for input: a request capped at 10 tokens costs $10.
PRICEY = {"input_cost_per_mtok": 0, "output_cost_per_mtok": 1_000_000}


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return {"name": "sim-identity", "default": {"output_tokens": 10}, "models": {}}


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    with scratch_redis_prefix("identity", REDIS_URL) as prefix:
        yield prefix


def gateway_config(
    simulator: Simulator,
    directory: Path,
    database_url: str | None = None,
    redis_prefix: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Two models, `m-open` and the pricey `m-pricey`, and whatever sections a test adds;
    without a database URL or Redis prefix: SQLite and in-process counters."""
    backends = [
        {"name": "dep-open", "provider": "simulator", "endpoint": simulator.v1, "model": "m-open"},
        {
            "name": "dep-pricey",
            "provider": "simulator",
            "endpoint": simulator.v1,
            "model": "m-pricey",
            **PRICEY,
        },
    ]
    config: dict[str, Any] = {
        "backends": backends,
        "spend": {"spool_dir": str(directory / "spool")},
        "routing": {"retries": {"max_attempts": 1}},
        **extra,
    }
    if database_url is not None:
        config["database"] = {"url": database_url}
    if redis_prefix is not None:
        config["redis"] = {"url": REDIS_URL, "prefix": redis_prefix}
    return config


def chat(model: str, content: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}
