"""Provider keys through the admin API: refused without the gateway's secret key, sealed
with it, used upstream, rotatable, and never in clear in any answer, audit entry, log
line, backup file or database column."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.control.conftest import MASTER, admin, chat, control_config
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway

FIRST_KEY = "sk-provider-FIRST-0123456789abcdef-wxyz"
SECOND_KEY = "sk-provider-SECOND-fedcba9876543210-lmno"


@pytest.fixture(scope="module")
def keyed(
    simulator: Simulator, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, str, Path]]:
    """A gateway in database mode whose secret key file does not exist yet."""
    directory = tmp_path_factory.mktemp("keyed")
    key_file = directory / "secret.key"
    with scratch_database("control") as url:
        config = control_config(
            simulator,
            url,
            redis_prefix,
            directory / "spool",
            config={"mode": "database", "secret_key_ref": f"file:{key_file}"},
        )
        gateway = start_gateway(config, directory, master_key=MASTER)
        yield gateway, url, key_file
        if gateway.process.poll() is None:
            gateway.stop()


def upstream_keys(simulator: Simulator, model: str) -> list[str]:
    with simulator.client() as http:
        recent = http.get("/_sim/requests", params={"limit": 200}).json()
    rows = recent["requests"] if isinstance(recent, dict) else recent
    return [r["headers"].get("authorization", "") for r in rows if r.get("model") == model]


def every_admin_answer(gateway: Gateway) -> str:
    paths = [
        "/admin/config",
        "/admin/config/versions",
        "/admin/backends",
        "/admin/backends/keyed",
        "/admin/audit",
        "/admin/limits/rules",
        "/admin/routing/groups",
        "/admin/routing/auto-groups",
        "/admin/routing/fallbacks",
        "/openapi.json",
    ]
    with admin(gateway) as http:
        versions = http.get("/admin/config/versions").json()["data"]
        paths += [f"/admin/config/versions/{v['version']}" for v in versions]
        answers = [http.get(path) for path in paths]
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    return "\n".join(a.text for a in answers)


def database_text(url: str) -> str:
    """Every row of every table, as Postgres prints it."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
        rows = [
            str(row)
            for (table,) in tables
            for row in connection.execute(f'SELECT t::text FROM "{table}" t').fetchall()
        ]
    return "\n".join(rows)


def test_a_provider_key_is_refused_without_a_secret_key_then_sealed_used_and_rotated(
    keyed: tuple[Gateway, str, Path], simulator: Simulator, tmp_path: Path
) -> None:
    gateway, url, key_file = keyed
    backend: dict[str, Any] = {
        "name": "keyed",
        "provider": "simulator",
        "endpoint": simulator.v1,
        "model": "m-keyed",
        "api_key": FIRST_KEY,
    }
    with admin(gateway) as http:
        refused = http.post("/admin/backends", json=backend)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "secret_key_missing"
        assert http.get("/admin/config").json()["version"] == 1
        key_file.write_text("a-long-random-gateway-secret-for-the-tests\n")
        added = http.post("/admin/backends", json=backend)
        assert added.status_code == 201, added.text
        shown = added.json()
        assert shown["api_key_last4"] == "wxyz"
        assert shown["api_key_ref"].startswith("secret:cred_")
        assert "api_key" not in shown
    response = chat(gateway, MASTER, model="m-keyed")
    assert response.status_code == 200, response.text
    assert upstream_keys(simulator, "m-keyed")[-1] == f"Bearer {FIRST_KEY}"

    with admin(gateway) as http:
        rotated = http.patch("/admin/backends/keyed", json={"api_key": SECOND_KEY})
        assert rotated.status_code == 200, rotated.text
        assert rotated.json()["api_key_last4"] == "lmno"
        assert rotated.json()["api_key_ref"] != shown["api_key_ref"]
        weight = http.patch("/admin/backends/keyed", json={"weight": 2})
        assert weight.json()["api_key_ref"] == rotated.json()["api_key_ref"]
    assert chat(gateway, MASTER, model="m-keyed").status_code == 200
    assert upstream_keys(simulator, "m-keyed")[-1] == f"Bearer {SECOND_KEY}"

    backup = tmp_path / "backup.jsonl"
    config_path = str(gateway.config_path)
    with backup.open("wb") as out:
        made = subprocess.run(
            [sys.executable, "-m", "llm_proxy", "backup", "create", "--config", config_path],
            stdout=out,
            stderr=subprocess.PIPE,
            timeout=170,
        )
    assert made.returncode == 0, made.stderr
    written = {
        "answers": every_admin_answer(gateway),
        "database": database_text(url),
        "backup": backup.read_text(),
        "logs": gateway.stop(),
    }
    assert "secret:cred_" in written["backup"] and "m-keyed" in written["logs"] + written["answers"]
    for where, text in written.items():
        for secret in (FIRST_KEY, SECOND_KEY):
            assert secret not in text, where
            assert secret[4:-4] not in text, where
