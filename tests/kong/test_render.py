"""`llm-proxy kong render`: the key table as Kong consumers, valid for Kong, ids fixed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_proxy.kong import consumer_id, credential_id
from llm_proxy.store.credentials import hash_secret

from tests.kong.conftest import BASE, KeyTable, kong_command, kong_process, render
from tests.kong.kong_schema import field_problems, structure_problems


def consumers_by_username(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["username"]: c for c in document["consumers"]}


@pytest.mark.parametrize("key_table", ["sqlite", "postgres"], indirect=True)
async def test_one_consumer_per_usable_key(key_table: KeyTable) -> None:
    now = datetime.now(UTC)
    active, active_key = await key_table.add()
    expiring, _ = await key_table.add(expires_at=now + timedelta(days=1))
    revoked, _ = await key_table.add(status="revoked", revoked_at=now)
    expired, _ = await key_table.add(expires_at=now - timedelta(seconds=1))
    old_key = "sk-gw-the-key-before-rotation"
    rotated, _ = await key_table.add(
        previous_hash=hash_secret(old_key), previous_expires_at=now + timedelta(hours=1)
    )
    grace_over, _ = await key_table.add(
        previous_hash=hash_secret("sk-gw-long-gone"), previous_expires_at=now
    )

    result = kong_process("render", "--config", key_table.config_path, "--base", BASE)
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)

    assert structure_problems(document) == []
    assert field_problems(document) == []
    consumers = consumers_by_username(document)
    assert set(consumers) == {active, expiring, rotated, grace_over}
    assert revoked not in consumers and expired not in consumers
    first = consumers[active]
    assert first["id"] == consumer_id(active)
    # Kong matches the digest the edge computes from the presented key, never the key.
    digest = hash_secret(active_key)
    assert first["keyauth_credentials"] == [
        {"id": credential_id(active, digest), "key": digest, "tags": ["llm-proxy"]}
    ]
    assert active_key not in yaml.safe_dump(document)
    # During a rotation's grace period both secrets open the door, each with its own id.
    keys = [c["key"] for c in consumers[rotated]["keyauth_credentials"]]
    assert hash_secret(old_key) in keys and len(keys) == 2
    assert len(consumers[grace_over]["keyauth_credentials"]) == 1


async def test_ids_are_the_same_on_every_render(key_table: KeyTable) -> None:
    for _ in range(3):
        await key_table.add()
    assert await render(key_table) == await render(key_table)


async def test_consumers_written_by_hand_are_kept(key_table: KeyTable, tmp_path: Path) -> None:
    key_id, _ = await key_table.add()
    base = yaml.safe_load(BASE.read_text())
    base["consumers"] = [
        {"username": "ops-robot", "keyauth_credentials": [{"key": "hand-made"}]},
        # Left over from an earlier render: replaced, not duplicated.
        {"username": key_id, "id": consumer_id(key_id), "tags": ["llm-proxy"]},
    ]
    path = tmp_path / "kong.yaml"
    path.write_text(yaml.safe_dump(base))

    document = await render(key_table, path)

    assert [c["username"] for c in document["consumers"]] == ["ops-robot", key_id]
    assert field_problems(document) == []


async def test_a_base_that_is_not_kong_3_is_refused(key_table: KeyTable, tmp_path: Path) -> None:
    path = tmp_path / "kong.yaml"
    path.write_text('_format_version: "2.1"\nservices: []\n')
    outcome = await kong_command("render", "--config", key_table.config_path, "--base", path)
    assert outcome.code != 0
    assert "_format_version must be '3.0'" in outcome.err
    assert outcome.out == ""
