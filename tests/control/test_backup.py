"""`llm-proxy backup create | restore`: a gateway's control plane carried to a fresh
database answers every `GET /admin/*` the same, and its virtual keys and stored provider
keys work there; across Postgres and SQLite; an older backup restores after a migration."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from tests.control.conftest import MASTER, admin, chat, control_config, create
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway

os.environ["GW_TEST_BACKUP_SECRET"] = "the-backup-tests-gateway-secret-key"
DATABASE_MODE = {"mode": "database", "secret_key_ref": "env:GW_TEST_BACKUP_SECRET"}
PROVIDER_KEY = "sk-provider-BACKUP-00112233445566778899-tail"

# Every read of the control API whose answer is state, not live counters.
READS = [
    "/admin/config",
    "/admin/config/versions",
    "/admin/backends",
    "/admin/routing/groups",
    "/admin/routing/auto-groups",
    "/admin/routing/fallbacks",
    "/admin/limits/rules",
    "/admin/keys",
    "/admin/teams",
    "/admin/users",
    "/admin/budgets",
    "/admin/organizations",
    "/admin/tokens",
    "/admin/audit",
    "/admin/logs",
]


def cli(*args: str, stdout: Any = subprocess.PIPE) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "llm_proxy", "backup", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        timeout=300,
    )


def backup_to(path: Path, config: Path, *extra: str) -> None:
    with path.open("wb") as out:
        made = cli("create", "--config", str(config), *extra, stdout=out)
    assert made.returncode == 0, made.stderr.decode()


def config_for(directory: Path, url: str) -> Path:
    path = directory / f"restore-{abs(hash(url))}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "database": {"url": url},
                "backends": [{"name": "x", "provider": "openai", "model": "x"}],
            }
        )
    )
    return path


# The usage series over a fixed range, read from the hourly rollup: a restore rebuilds it
# from the log rows it restores (the rollup itself is not in a backup).
SERIES_RANGE = {
    "since": (datetime.now(UTC) - timedelta(days=1)).isoformat(),
    "until": (datetime.now(UTC) + timedelta(days=1)).isoformat(),
    "interval": "1h",
    "group_by": "key",
}


def answers(gateway: Gateway) -> dict[str, Any]:
    with admin(gateway) as http:
        versions = http.get("/admin/config/versions").json()["data"]
        paths = READS + [f"/admin/config/versions/{v['version']}" for v in versions]
        got = {path: http.get(path, params={"limit": 200}) for path in paths}
        got["series"] = http.get("/admin/usage/timeseries", params=SERIES_RANGE)
    assert all(r.status_code == 200 for r in got.values()), {p: r.text for p, r in got.items()}
    bodies = {path: r.json() for path, r in got.items()}
    bodies["/admin/config"].pop("applied_version")  # which this replica runs: not state
    assert bodies["series"]["source"] == "rollup" and bodies["series"]["data"]
    return bodies


@pytest.fixture(scope="module")
def original(
    simulator: Simulator, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, dict[str, Any]]]:
    directory = tmp_path_factory.mktemp("original")
    with scratch_database("control") as url:
        config = control_config(
            simulator, url, redis_prefix, directory / "spool", config=DATABASE_MODE
        )
        gateway = start_gateway(config, directory, master_key=MASTER)
        try:
            yield gateway, config
        finally:
            gateway.stop()


def populate(gateway: Gateway, simulator: Simulator) -> dict[str, str]:
    budget = create(gateway, "budgets", name="backup-budget", usd_monthly=10)
    team = create(gateway, "teams", name="backup-team", budget_id=budget["id"])
    user = create(gateway, "users", email="ada@example.com", team_id=team["id"])
    key = create(gateway, "keys", name="carried", team_id=team["id"], user_id=user["id"])
    rotated = create(gateway, "keys", name="rotated")
    create(gateway, "tokens", name="ops", role="developer", team_id=team["id"])
    create(gateway, "organizations", name="backup-org")
    with admin(gateway) as http:
        again = http.post(f"/admin/keys/{rotated['id']}/rotate", json={"grace_s": 3600}).json()
        added = http.post(
            "/admin/backends",
            json={
                "name": "carried-backend",
                "provider": "simulator",
                "endpoint": simulator.v1,
                "model": "m-carried",
                "api_key": PROVIDER_KEY,
            },
        )
        assert added.status_code == 201, added.text
        assert http.put("/admin/routing/fallbacks/m-carried", json=["gpt-4o-mini"]).is_success
    for secret in (key["key"], again["key"]):
        assert chat(gateway, secret).status_code == 200
    assert chat(gateway, key["key"], model="m-carried").status_code == 200
    return {"key": key["key"], "rotated": again["key"], "previous": rotated["key"]}


def test_a_backup_restored_into_a_fresh_database_answers_the_same(
    original: tuple[Gateway, dict[str, Any]],
    simulator: Simulator,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    gateway, config = original
    secrets = populate(gateway, simulator)
    backup = tmp_path / "backup.jsonl"
    # The spend log is written in batches: wait until the requests above are in it.
    with admin(gateway) as http:
        for _ in range(200):
            if len(http.get("/admin/logs").json()["data"]) >= 3:
                break
    backup_to(backup, gateway.config_path, "--with-logs")
    header = orjson.loads(backup.read_bytes().splitlines()[0])
    assert header["format"] == "llm-proxy-backup" and header["format_version"] == 1
    text = backup.read_text()
    for secret in secrets.values():
        assert secret not in text and PROVIDER_KEY not in text
    before = answers(gateway)

    with scratch_database("control") as fresh:
        target = config_for(tmp_path, fresh)
        restored = cli("restore", str(backup), "--config", str(target))
        assert restored.returncode == 0, restored.stderr.decode()
        refused = cli("restore", str(backup), "--config", str(target))
        assert refused.returncode != 0 and b"not empty" in refused.stderr
        forced = cli("restore", str(backup), "--config", str(target), "--force")
        assert forced.returncode == 0, forced.stderr.decode()

        copy_config = {**config, "database": {"url": fresh}}
        copy = start_gateway(copy_config, tmp_path, master_key=MASTER)
        try:
            after = answers(copy)
            for secret in (secrets["key"], secrets["rotated"], secrets["previous"]):
                assert chat(copy, secret).status_code == 200
            assert chat(copy, secrets["key"], model="m-carried").status_code == 200
        finally:
            copy.stop()
    assert after == before

    # Across dialects: the same backup into SQLite and out again holds the same rows.
    sqlite = config_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/restored.db")
    assert cli("restore", str(backup), "--config", str(sqlite)).returncode == 0
    again = tmp_path / "again.jsonl"
    backup_to(again, sqlite, "--with-logs")
    assert again.read_bytes().splitlines()[1:] == backup.read_bytes().splitlines()[1:]


def test_an_older_backup_restores_after_the_migrations_that_followed_it(
    original: tuple[Gateway, dict[str, Any]], tmp_path: Path
) -> None:
    gateway, _ = original
    backup = tmp_path / "backup.jsonl"
    backup_to(backup, gateway.config_path, "--with-logs")
    # As revision 0002 wrote it: no control-plane tables, no routing columns in the log.
    lines = [orjson.loads(line) for line in backup.read_bytes().splitlines()]
    header, rows = lines[0], lines[1:]
    header["schema_revision"] = "0002"
    later = {"config_versions", "provider_credentials", "audit_log"}
    older = [r for r in rows if r["table"] not in later]
    for item in older:
        if item["table"] == "request_log":
            for column in (
                "routed_from",
                "router",
                "router_threshold",
                "cost_strong_usd",
                "client_request_id",
            ):
                del item["row"][column]
    assert any(item["table"] == "request_log" for item in older)
    old = tmp_path / "old.jsonl"
    old.write_bytes(b"\n".join(orjson.dumps(x) for x in [header, *older]) + b"\n")
    target = config_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/old.db")
    restored = cli("restore", str(old), "--config", str(target))
    assert restored.returncode == 0, restored.stderr.decode()
    assert b"request_log" in restored.stderr
    header["schema_revision"] = "9999"
    future = tmp_path / "future.jsonl"
    future.write_bytes(b"\n".join(orjson.dumps(x) for x in [header, *older]) + b"\n")
    newer = cli(
        "restore",
        str(future),
        "--config",
        str(config_for(tmp_path, f"sqlite+aiosqlite:///{tmp_path}/f.db")),
    )
    assert newer.returncode != 0 and b"newer llm-proxy" in newer.stderr
