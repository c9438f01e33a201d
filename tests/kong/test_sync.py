"""`llm-proxy kong sync` against a Kong Admin API peer on loopback: DB-less `POST /config`
with `?check_hash=1`, and DB mode's consumers and key-auth credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from llm_proxy.kong import consumer_id, credential_id
from llm_proxy.store.credentials import hash_secret

from tests.kong.admin_peer import AdminPeer
from tests.kong.conftest import BASE, KeyTable, kong_command, kong_process, render


async def test_dbless_sync_loads_the_rendered_config_once(
    key_table: KeyTable, admin_peer: AdminPeer
) -> None:
    first, _ = await key_table.add()
    second, _ = await key_table.add()
    sync = ("sync", "--config", key_table.config_path, "--admin-url", admin_peer.url)

    result = kong_process(*sync)
    assert result.returncode == 0, result.stderr
    assert "config loaded, 2 consumers" in result.stdout
    (load,) = [r for r in admin_peer.state.received if r.path == "/config"]
    assert load.method == "POST" and load.query["check_hash"] == "1"
    assert load.body == await render(key_table)

    # Nothing changed: Kong answers 304 and keeps running what it has.
    unchanged = await kong_command(*sync)
    assert unchanged.code == 0 and "config unchanged" in unchanged.out

    await key_table.update(second, status="revoked", revoked_at=datetime.now(UTC))
    assert "config loaded, 1 consumers" in (await kong_command(*sync)).out
    loaded = admin_peer.state.config
    assert loaded is not None
    assert [c["username"] for c in loaded["consumers"]] == [first]
    # No entity endpoint was written: DB-less Kong would have answered 405.
    assert {r.path for r in admin_peer.state.writes()} == {"/config"}


async def test_a_busy_kong_is_waited_for(key_table: KeyTable, admin_peer: AdminPeer) -> None:
    await key_table.add()
    admin_peer.state.busy = 2
    outcome = await kong_command(
        "sync", "--config", key_table.config_path, "--admin-url", admin_peer.url
    )
    assert outcome.code == 0, outcome.err
    assert "config loaded" in outcome.out
    assert len([r for r in admin_peer.state.received if r.path == "/config"]) == 3


async def test_a_config_kong_rejects_fails_the_sync_with_kongs_reasons(
    key_table: KeyTable, admin_peer: AdminPeer, tmp_path: Path
) -> None:
    await key_table.add()
    base = yaml.safe_load(BASE.read_text())
    key_route = base["services"][0]["routes"][0]
    limiter = next(p for p in key_route["plugins"] if p["name"] == "rate-limiting")
    limiter["config"]["policy"] = "cluster"  # only with a database
    path = tmp_path / "kong.yaml"
    path.write_text(yaml.safe_dump(base))

    outcome = await kong_command(
        "sync", "--config", key_table.config_path, "--base", path, "--admin-url", admin_peer.url
    )

    assert outcome.code != 0
    assert "Kong answered 400" in outcome.err and "config.policy" in outcome.err
    assert admin_peer.state.config is None


async def test_an_unreachable_kong_is_a_clear_error(key_table: KeyTable) -> None:
    outcome = await kong_command(
        "sync", "--config", key_table.config_path, "--admin-url", "http://127.0.0.1:9"
    )
    assert outcome.code != 0
    assert "cannot reach Kong's Admin API at http://127.0.0.1:9" in outcome.err


async def test_database_mode_is_not_forced_on_a_dbless_kong(
    key_table: KeyTable, admin_peer: AdminPeer
) -> None:
    await key_table.add()
    outcome = await kong_command(
        "sync", "--config", key_table.config_path, "--admin-url", admin_peer.url, "--mode", "db"
    )
    assert outcome.code != 0
    assert "Kong answered 405" in outcome.err


@pytest.mark.parametrize("key_table", ["postgres"], indirect=True)
async def test_database_mode_upserts_and_prunes_only_what_llm_proxy_manages(
    key_table: KeyTable,
) -> None:
    peer = AdminPeer(database="postgres")
    peer.state.page_size = 2  # so the listing has to follow Kong's pages
    try:
        state = peer.state
        state.consumers["hand-made"] = {"id": "hand-made", "username": "ops", "tags": []}
        stale = consumer_id("key_gone")
        state.consumers[stale] = {"id": stale, "username": "key_gone", "tags": ["llm-proxy"]}
        state.credentials["stale-credential"] = {
            "id": "stale-credential",
            "consumer": {"id": stale},
            "key": "x",
            "tags": ["llm-proxy"],
        }
        now = datetime.now(UTC)
        kept = [(await key_table.add())[0] for _ in range(3)]
        old = hash_secret("sk-gw-before-rotation")
        rotated, rotated_key = await key_table.add(
            previous_hash=old, previous_expires_at=now + timedelta(minutes=10)
        )
        sync = ("sync", "--config", key_table.config_path, "--admin-url", peer.url)

        outcome = await kong_command(*sync)

        assert outcome.code == 0, outcome.err
        assert "4 consumers" in outcome.out
        assert set(state.consumers) == {"hand-made", *(consumer_id(k) for k in [*kept, rotated])}
        assert state.consumers[consumer_id(rotated)]["username"] == rotated
        current = credential_id(rotated, hash_secret(rotated_key))
        assert state.credentials[current]["key"] == hash_secret(rotated_key)
        grace = state.credentials[credential_id(rotated, old)]
        assert grace["key"] == old and 0 < grace["ttl"] <= 600
        methods = [r.method for r in state.writes()]
        assert methods.index("DELETE") > max(i for i, m in enumerate(methods) if m == "PUT")

        state.received.clear()
        again = await kong_command(*sync)
        assert again.code == 0, again.err
        # Only the expiring credential is written again (its ttl counts from the write).
        assert [r.path for r in state.writes()] == [
            f"/consumers/{consumer_id(rotated)}/key-auth/{credential_id(rotated, old)}"
        ]
    finally:
        peer.stop()
