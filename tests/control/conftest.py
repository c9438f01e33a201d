"""Gateways on a private PostgreSQL database and Redis prefix, in front of the simulator.

Each test session creates its own database (`gw_control_<random>`, dropped at the end)
and uses its own Redis key prefix, so it can run beside anyone else's tests.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.llm_proxy.conftest import SIM_CONFIG as BASE_SIM_CONFIG
from tests.support.databases import delete_redis_prefix, scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway

REDIS_URL = "redis://127.0.0.1:6379/0"
MASTER = "sk-test-master"
# Kong's edge secret, handed to gateways through their environment.
EDGE_SECRET = "edge-secret-for-tests"
os.environ["GW_TEST_EDGE_SECRET"] = EDGE_SECRET

MakeGateway = Callable[..., Gateway]

# m-trickle streams for ~10 s: long enough to leave in the middle.
SIM_CONFIG = {
    **BASE_SIM_CONFIG,
    "models": {
        **BASE_SIM_CONFIG["models"],
        "m-trickle": {"ttft_ms": 5, "tokens_per_second": 20, "output_tokens": 200},
    },
}


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with scratch_database("control") as url:
        yield url


@pytest.fixture(scope="session")
def database_name(database_url: str) -> str:
    return database_url.rsplit("/", 1)[1]


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    prefix = f"gwtest:{secrets.token_hex(4)}:"
    yield prefix
    delete_redis_prefix(prefix, REDIS_URL)


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


def control_config(
    simulator: Simulator, database_url: str, redis_prefix: str, spool_dir: Path, **sections: Any
) -> dict[str, Any]:
    def backend(name: str, model: str) -> dict[str, Any]:
        return {"name": name, "provider": "simulator", "endpoint": simulator.v1, "model": model}

    config: dict[str, Any] = {
        "database": {"url": database_url},
        "redis": {"url": REDIS_URL, "prefix": redis_prefix},
        "spend": {"spool_dir": str(spool_dir), "flush_interval_ms": 20},
        "backends": [
            backend("mini", "gpt-4o-mini"),
            backend("big", "gpt-4o"),
            backend("embed", "text-embedding-3-small"),
            backend("streamy", "m-streamy"),
            backend("trickle", "m-trickle"),
        ],
    }
    for name, value in sections.items():
        config[name] = {**config.get(name, {}), **value}
    return config


@pytest.fixture
def make_gateway(
    simulator: Simulator, database_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[MakeGateway]:
    started: list[Gateway] = []

    def make(database: str | None = None, **sections: Any) -> Gateway:
        config = control_config(
            simulator, database or database_url, redis_prefix, tmp_path / "spool", **sections
        )
        gateway = start_gateway(config, tmp_path, master_key=MASTER)
        started.append(gateway)
        return gateway

    yield make
    for gateway in started:
        if gateway.process.poll() is None:
            gateway.stop()


@pytest.fixture(scope="package")
def gateway(
    simulator: Simulator,
    database_url: str,
    redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("gw")
    config = control_config(
        simulator,
        database_url,
        redis_prefix,
        directory / "spool",
        gateway={"edge_secret_ref": "env:GW_TEST_EDGE_SECRET"},
        # Long-lived key cache: a revocation can only be seen at once through Redis.
        auth={"key_cache_ttl_s": 300},
    )
    gw = start_gateway(config, directory, master_key=MASTER)
    yield gw
    gw.stop()


def admin(gateway: Gateway, token: str | None = None) -> httpx.Client:
    return gateway.client(token or MASTER)


def create(gateway: Gateway, resource: str, token: str | None = None, **fields: Any) -> Any:
    with admin(gateway, token) as http:
        response = http.post(f"/admin/{resource}", json=fields)
    assert response.status_code == 201, response.text
    return response.json()


def chat(gateway: Gateway, key: str, model: str = "gpt-4o-mini", **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    with gateway.client(key) as http:
        return http.post("/v1/chat/completions", json=body)


def records(database_url: str, where: str = "TRUE", *params: Any) -> list[dict[str, Any]]:
    """Rows of the request log, read straight from PostgreSQL."""
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM request_log WHERE {where} ORDER BY id", params)
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
