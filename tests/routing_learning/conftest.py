"""A simulator playing the pair (a terse weak model, a fuller strong one) and judges of
their answers, and gateways in front of it, each module its own Postgres database.

Each model marks its text answers with a quality (`[q3]`, `[q8]`, …) that the simulator's
judges compare (`llm_proxy.simulator.judge`), so every verdict is known in advance."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, free_port, start_gateway

WEAK, STRONG = "gpt-4o-mini", "gpt-4o"
SAGE, TWIN = "sage-mini", "twin-4o"  # a weak model better than the strong one; one as good
JUDGES = ("judge", "judge-first", "judge-slow", "judge-mute")

SIM_CONFIG: dict[str, Any] = {
    "name": "sim",
    "record_limit": 20000,
    "default": {"output_tokens": 12},
    "models": {
        WEAK: {"quality": 3},
        STRONG: {"output_tokens": 40, "quality": 8},
        SAGE: {"quality": 9},
        TWIN: {"quality": 8},
        "judge": {"answers": "judge"},
        # A judge that always prefers the first answer: judging both orders cancels it.
        "judge-first": {"answers": "judge", "position_bias": "first"},
        "judge-slow": {"answers": "judge", "latency_ms": 1500},
        "judge-mute": {},  # an echo: it states no verdict
    },
}


@pytest.fixture(scope="package")
def sim_config() -> dict[str, Any]:
    return SIM_CONFIG


def backend(simulator: Simulator, name: str, model: str) -> dict[str, Any]:
    return {"name": name, "provider": "simulator", "endpoint": simulator.v1, "model": model}


def gateway_config(simulator: Simulator, auto_groups: dict[str, Any]) -> dict[str, Any]:
    """The pair behind the gateway; the router-service is nowhere (an auto group then
    answers with its default at once)."""
    return {
        "backends": [
            backend(simulator, "weak", WEAK),
            backend(simulator, "strong", STRONG),
        ],
        "routing": {
            "auto_groups": auto_groups,
            "router_service": {"url": f"http://127.0.0.1:{free_port()}", "deadline_ms": 200},
        },
    }


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database("routing_learning") as url:
        yield url


def started(config: dict[str, Any], database: str, directory: Path) -> Gateway:
    return start_gateway({**config, "database": {"url": database}}, directory)


def labels(database: str, request_id: str | None = None) -> list[dict[str, Any]]:
    """Route labels as `router-service train --from-gateway` reads them: from the table."""
    dsn = database.replace("postgresql+psycopg://", "postgresql://")
    query = "SELECT * FROM route_labels"
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        if request_id is None:
            cursor.execute(query + " ORDER BY id")
        else:
            cursor.execute(query + " WHERE request_id = %s ORDER BY id", (request_id,))
        columns = [c.name for c in cursor.description or ()]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def wait_for_labels(database: str, request_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The request's labels, once `count` are there (they are written in batches)."""
    deadline = time.monotonic() + 15
    while True:
        found = labels(database, request_id)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)
