"""Gateways with limits in front of a simulator, counters in the real Redis under a fresh prefix.

Gateway processes are slow to start, so a module shares them; each test uses its own
model names, hence its own counters.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.support.processes import Gateway, Simulator, start_gateway

REDIS_URL = "redis://127.0.0.1:6379/0"
MASTER_KEY = "sk-test-master"

SIM_CONFIG: dict[str, Any] = {
    "name": "sim-limits",
    "record_limit": 5000,
    "default": {"output_tokens": 10},
    "models": {
        # Long enough that a whole burst is in flight before the first answer settles.
        "m-slow": {"latency_ms": 1500},
        "m-slow-tokens": {"latency_ms": 1500},
        "m-held": {"latency_ms": 400},
        "m-tools": {"latency_ms": 1500},
        "m-stream": {"ttft_ms": 5, "tokens_per_second": 2000, "output_tokens": 40},
        "m-drip": {"ttft_ms": 5, "tokens_per_second": 20, "output_tokens": 400},
    },
}


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


class Counters:
    """Reads the gateway's counters straight from Redis; owns one prefix and cleans it."""

    def __init__(self) -> None:
        self.client = redis.Redis.from_url(REDIS_URL)
        self.prefix = f"gwtest:limits:{uuid.uuid4().hex}:"

    @property
    def stored(self) -> str:
        """What the gateway puts before a counter's name: the prefix, hash-tagged."""
        return f"{{{self.prefix}limits}}:"

    def total(self, key: str) -> int:
        value = self.client.hget(f"{self.stored}{key}", "t")
        return int(value) if value is not None else 0

    def eventually(self, key: str, expected: int, timeout_s: float = 5.0) -> int:
        """Settles are written in the background: wait for the counter to reach a value."""
        deadline = time.monotonic() + timeout_s
        while (value := self.total(key)) != expected and time.monotonic() < deadline:
            time.sleep(0.02)
        return value

    def keys(self) -> list[bytes]:
        """Every key under the prefix (hash-tagged ones start with the tag's brace)."""
        return [
            key
            for match in (self.prefix, "{" + self.prefix)
            for key in self.client.scan_iter(match=f"{match}*", count=500)
        ]

    def clean(self) -> None:
        keys = self.keys()
        if keys:
            self.client.delete(*keys)
        self.client.close()


@pytest.fixture(scope="module")
def store() -> Iterator[Counters]:
    counters = Counters()
    yield counters
    counters.clean()


def gateway_config(
    simulator: Simulator,
    directory: Path,
    models: list[str],
    limits: dict[str, Any],
    redis_prefix: str | None,
    prices: dict[str, dict[str, float]] | None = None,
    database_url: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """One backend per model (with price overrides for those in `prices`)."""
    priced = prices or {}
    config: dict[str, Any] = {
        "backends": [
            {
                "name": f"dep-{m}",
                "provider": "simulator",
                "endpoint": simulator.v1,
                "model": m,
                **priced.get(m, {}),
            }
            for m in [*models, *priced]
        ],
        "database": {"url": database_url or f"sqlite+aiosqlite:///{directory}/gateway.db"},
        "spend": {"spool_dir": str(directory / "spool")},
        "routing": {"retries": {"max_attempts": 1}},
        "limits": limits,
        **extra,
    }
    if redis_prefix is not None:
        config["redis"] = {"url": REDIS_URL, "prefix": redis_prefix}
    return config


def launch(
    simulator: Simulator,
    directory: Path,
    models: list[str],
    limits: dict[str, Any],
    redis_prefix: str | None,
    **options: Any,
) -> Gateway:
    directory.mkdir(parents=True, exist_ok=True)
    config = gateway_config(simulator, directory, models, limits, redis_prefix, **options)
    return start_gateway(config, directory, MASTER_KEY)


def chat(model: str, content: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}
