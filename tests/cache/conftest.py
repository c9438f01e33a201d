"""Gateways with the response cache on, in front of a simulator, sharing a real Redis.

Gateway processes are slow to start on a loaded machine, so the package starts at most three,
once (two replicas sharing one Redis prefix, and one with the in-process store), and each test
reconfigures them through a config reload. Prompts carry a per-test marker, so tests never
hit each other's entries. The session writes under its own Redis prefix and removes exactly
those keys at the end: other engineers' tests use the same server at the same time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.support.databases import delete_redis_prefix
from tests.support.processes import Gateway, Simulator, start_gateway

REDIS_URL = "redis://127.0.0.1:6379/0"
MODEL = "gpt-4o-mini"
SIM_CONFIG: dict[str, Any] = {"name": "sim", "record_limit": 5000, "default": {"output_tokens": 8}}
# What every test starts from; a test changes it with `configure`.
DEFAULT_CACHE: dict[str, Any] = {"enabled": True, "semantic": {"enabled": True}}


class Gateways:
    """The package's gateways, each started when a test first needs it."""

    def __init__(self, simulator: Simulator, prefix: str, factory: pytest.TempPathFactory) -> None:
        self._simulator, self._prefix, self._factory = simulator, prefix, factory
        self._started: dict[str, Gateway] = {}

    @property
    def first(self) -> Gateway:
        return self._start("first", self._prefix)

    @property
    def second(self) -> Gateway:
        """Another replica on the same Redis prefix."""
        return self._start("second", self._prefix)

    @property
    def embedded(self) -> Gateway:
        """No redis.url: the in-process store."""
        return self._start("embedded", None)

    def stop(self) -> None:
        for gateway in self._started.values():
            gateway.stop()

    def _start(self, name: str, prefix: str | None) -> Gateway:
        if name not in self._started:
            directory = self._factory.mktemp(name)
            config = gateway_config(self._simulator, directory, prefix, DEFAULT_CACHE)
            self._started[name] = start_gateway(config, directory)
        return self._started[name]


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    prefix = f"gwtest:cache:{uuid.uuid4().hex[:12]}:"
    yield prefix
    delete_redis_prefix(prefix, REDIS_URL)


def gateway_config(
    simulator: Simulator, directory: Path, prefix: str | None, cache: dict[str, Any]
) -> dict[str, Any]:
    """A gateway on the simulator with `cache`; `prefix` None: the in-process store."""
    config: dict[str, Any] = {
        "database": {"url": f"sqlite+aiosqlite:///{directory / 'gateway.db'}"},
        "backends": [
            {
                "name": "sim-mini",
                "provider": "simulator",
                "endpoint": simulator.v1,
                "model": MODEL,
                "input_cost_per_mtok": 150.0,
                "output_cost_per_mtok": 600.0,
            },
            {
                "name": "sim-4o",
                "provider": "simulator",
                "endpoint": simulator.v1,
                "model": "gpt-4o",
            },
        ],
        "cache": cache,
    }
    if prefix is not None:
        config["redis"] = {"url": REDIS_URL, "prefix": prefix}
    return config


@pytest.fixture(scope="package")
def gateways(
    simulator: Simulator, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateways]:
    started = Gateways(simulator, redis_prefix, tmp_path_factory)
    try:
        yield started
    finally:
        started.stop()


def configure(gw: Gateway, **cache: Any) -> None:
    """Replace the gateway's cache section (on top of the defaults) and reload it."""
    config = yaml.safe_load(gw.config_path.read_text())
    config["cache"] = {**DEFAULT_CACHE, **cache}
    gw.config_path.write_text(yaml.safe_dump(config))
    with gw.client() as http:
        http.post("/admin/config/reload").raise_for_status()


@pytest.fixture
def gw(gateways: Gateways) -> Iterator[Gateway]:
    """The first replica, with the default cache settings restored after the test."""
    yield gateways.first
    configure(gateways.first)


@pytest.fixture
def marker() -> str:
    """A first line only this test's prompts start with."""
    return f"test {uuid.uuid4().hex[:8]}\n"


def received(sim: httpx.Client) -> list[dict[str, Any]]:
    """What reached the upstream: a cache hit never does."""
    requests: list[dict[str, Any]] = sim.get("/_sim/requests").json()["requests"]
    return requests


def ask(gw: Gateway, content: str, **extra: Any) -> httpx.Response:
    body = {"model": MODEL, "messages": [{"role": "user", "content": content}], **extra}
    with gw.client() as http:
        response = http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response


def verdict(gw: Gateway, content: str, **extra: Any) -> str:
    return ask(gw, content, **extra).headers["x-gateway-cache"]


def miss_and_store(gw: Gateway, content: str, **extra: Any) -> httpx.Response:
    """Ask, expect a miss, and wait until its answer is written (writes follow the reply)."""
    before = stats(gw)["stored"]
    response = ask(gw, content, **extra)
    assert response.headers["x-gateway-cache"] == "miss"
    wait_stored(gw, before)
    return response


def wait_stored(gw: Gateway, before: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while stats(gw)["stored"] <= before:
        assert time.monotonic() < deadline, "the cache write did not land"
        time.sleep(0.02)


def stats(gw: Gateway) -> dict[str, Any]:
    with gw.client() as http:
        response = http.get("/admin/cache/stats")
    assert response.status_code == 200
    found: dict[str, Any] = response.json()
    return found
