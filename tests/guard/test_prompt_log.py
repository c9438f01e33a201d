"""Opt-in prompt logging, redacted then encrypted, on Postgres in database mode.

A team opts in through `/admin/guardrails/overrides/team/{id}` (`log_prompts: true`); its
requests' prompts and answers are kept in `prompt_log`, every personal value and secret a
placeholder whatever the policies do with it (here a policy only alerts on emails, so the
model saw the address and its answer quotes it), sealed with AES-GCM. The whole database
is dumped (`pg_dump`) to show neither the address nor any word of the prompt is stored in
the clear; an admin opens the prompt through `/admin/logs/{id}/prompt`. Nobody else's
prompt is kept, and keys rotate.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.guard.test_gateway import EMAIL
from tests.support.databases import scratch_database, scratch_redis_prefix
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

MODEL = "gpt-4o-mini"
# A word that is in the prompt and nowhere else: it must not be stored in the clear.
MARKER = "periwinkle-lantern"
SECRET = "sk-proj-" + "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z" * 2
ALERT_EMAIL = {
    "name": "emails",
    "on": ["request"],
    "checks": {"pii": {"entities": ["email"], "action": "alert"}},
}


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    config = {"name": "sim", "record_limit": 50, "default": {"output_tokens": 24}}
    sim = start_simulator(config, tmp_path_factory.mktemp("guard-prompts-sim"))
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("guard-prompt-keys")
    found = {}
    for key_id in ("k1", "k2"):
        found[key_id] = directory / f"{key_id}.key"
        found[key_id].write_text(secrets.token_urlsafe(32))
    return found


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database("guard_prompts") as url:
        yield url


@pytest.fixture(scope="module")
def gateway(
    simulator: Simulator,
    keys: dict[str, Path],
    database: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("guard-prompts")
    with scratch_redis_prefix("guard_prompts") as prefix:
        config = {
            "config": {"mode": "database", "poll_interval_s": 5},
            "database": {"url": database},
            "redis": {"url": "redis://127.0.0.1:6379/0", "prefix": prefix},
            "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
            "backends": [
                {"name": "sim", "provider": "simulator", "endpoint": simulator.v1, "model": MODEL}
            ],
            "guardrails": {
                "policies": [ALERT_EMAIL],
                "prompt_log": {"keys": [{"id": "k1", "key_ref": f"file:{keys['k1']}"}]},
            },
        }
        gw = start_gateway(config, directory, ready_timeout_s=300)
        yield gw
        gw.stop()


def _tenant(gw: Gateway, log_prompts: bool | None) -> tuple[str, str]:
    """A new team (opted in or not) and a key of it: (team id, key)."""
    with gw.client() as http:
        team = http.post("/admin/teams", json={"name": f"t-{secrets.token_hex(3)}"}).json()
        key = http.post("/admin/keys", json={"team_id": team["id"]}).json()["key"]
        if log_prompts is not None:
            body = {"log_prompts": log_prompts}
            put = http.put(f"/admin/guardrails/overrides/team/{team['id']}", json=body)
            assert put.status_code == 200, put.text
            assert put.json()["log_prompts"] is log_prompts
    return team["id"], key


def _ask(gw: Gateway, key: str, text: str, stream: bool = False) -> str:
    """The request id of one chat completion (streamed or not)."""
    client = openai.OpenAI(base_url=gw.v1, api_key=key, max_retries=0)
    messages = [{"role": "user", "content": text}]
    if stream:
        with client.chat.completions.with_streaming_response.create(
            model=MODEL, messages=messages, stream=True
        ) as response:
            for _ in response.iter_lines():
                pass
            return response.headers["x-request-id"]
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
    return raw.headers["x-request-id"]


def _logged(gw: Gateway, request_id: str) -> None:
    """Wait for the request's spend record (its prompt, if any, is written with it)."""
    with gw.client() as http:
        deadline = time.monotonic() + 10
        while http.get(f"/admin/logs/{request_id}").status_code == 404:
            assert time.monotonic() < deadline, "the request was not logged"
            time.sleep(0.05)


def _rows(database: str, request_id: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database.replace("postgresql+psycopg", "postgresql")) as connection:
        query = "SELECT request_id, key_id, sealed FROM prompt_log WHERE request_id = %s"
        return connection.execute(query, (request_id,)).fetchall()


def _dump(database: str) -> bytes:
    """Every byte the database holds, as pg_dump writes it (data and schema)."""
    url = database.replace("postgresql+psycopg", "postgresql")
    return subprocess.run(["pg_dump", url], check=True, capture_output=True).stdout


def _opened(gw: Gateway, request_id: str) -> httpx.Response:
    with gw.client() as http:
        return http.get(f"/admin/logs/{request_id}/prompt")


def test_an_opted_in_teams_prompt_is_kept_redacted_and_encrypted(
    gateway: Gateway, database: str, sim: httpx.Client
) -> None:
    _, key = _tenant(gateway, log_prompts=True)
    prompt = f"{EMAIL} asks about the {MARKER} order, token {SECRET}"
    request_id = _ask(gateway, key, prompt)
    _logged(gateway, request_id)
    # The policy only alerts: the model saw the address, and its answer quotes it.
    assert EMAIL in str(sim.get("/_sim/requests").json()["requests"][-1]["body"])
    (row,) = _rows(database, request_id)
    assert row[1] == "k1"
    stored = _dump(database)
    assert EMAIL.encode() not in stored and MARKER.encode() not in stored
    assert SECRET.encode() not in stored and b"asks about the" not in stored
    assert row[2].encode() in stored  # the ciphertext is what the database holds
    opened = _opened(gateway, request_id)
    assert opened.status_code == 200, opened.text
    document = opened.json()
    assert document["key_id"] == "k1"
    content = document["request"]["messages"][0]["content"]
    assert content == f"[EMAIL_1] asks about the {MARKER} order, token [SECRET_1]"
    assert document["request"]["model"] == MODEL
    assert document["response"].startswith("Simulated reply to: [EMAIL_1] asks about the")
    assert EMAIL not in str(document) and SECRET not in str(document)
    # Each opening is audited; a readonly token may not open one.
    with gateway.client() as http:
        audit = http.get("/admin/audit", params={"target": f"prompt_log/{request_id}"}).json()
        assert [entry["action"] for entry in audit["data"]] == [
            "GET /admin/logs/{request_id}/prompt"
        ]
        readonly = http.post("/admin/tokens", json={"name": "ro", "role": "readonly"}).json()
    with gateway.client(readonly["token"]) as http:
        assert http.get(f"/admin/logs/{request_id}/prompt").status_code == 403


def test_a_streamed_answer_is_kept_redacted_too(gateway: Gateway, database: str) -> None:
    _, key = _tenant(gateway, log_prompts=True)
    request_id = _ask(gateway, key, f"{EMAIL} wants the {MARKER} status", stream=True)
    _logged(gateway, request_id)
    assert len(_rows(database, request_id)) == 1
    document = _opened(gateway, request_id).json()
    assert document["response"].startswith("Simulated reply to: [EMAIL_1] wants the")
    assert EMAIL not in str(document)


def test_nothing_is_kept_without_an_opt_in(gateway: Gateway, database: str) -> None:
    _, plain = _tenant(gateway, log_prompts=None)
    team, _ = _tenant(gateway, log_prompts=True)
    with gateway.client() as http:
        opted_out = http.post("/admin/keys", json={"team_id": team}).json()
        put = http.put(
            f"/admin/guardrails/overrides/key/{opted_out['id']}", json={"log_prompts": False}
        )
        assert put.status_code == 200, put.text
    asked = [
        _ask(gateway, plain, f"{MARKER} from a team that never opted in"),
        _ask(gateway, opted_out["key"], f"{MARKER} from a key that opted out of its team's"),
        _ask(gateway, gateway.master_key, f"{MARKER} with the master key", stream=True),
    ]
    for request_id in asked:
        _logged(gateway, request_id)
        assert _rows(database, request_id) == []
        missing = _opened(gateway, request_id)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_keys_rotate_and_a_removed_key_no_longer_opens(
    gateway: Gateway, keys: dict[str, Path]
) -> None:
    _, key = _tenant(gateway, log_prompts=True)
    old = _ask(gateway, key, f"before the rotation, {EMAIL}")
    _logged(gateway, old)
    rotated = [{"id": "k2", "key_ref": f"file:{keys['k2']}"}]
    _set_keys(gateway, [*rotated, {"id": "k1", "key_ref": f"file:{keys['k1']}"}])
    new = _ask(gateway, key, f"after the rotation, {EMAIL}")
    _logged(gateway, new)
    assert _opened(gateway, new).json()["key_id"] == "k2"
    assert _opened(gateway, old).json()["key_id"] == "k1"
    _set_keys(gateway, rotated)
    gone = _opened(gateway, old)
    assert gone.status_code == 409 and "'k1'" in gone.json()["error"]["message"]
    assert _opened(gateway, new).status_code == 200


def _keys_listed(gw: Gateway) -> dict[str, dict[str, Any]]:
    with gw.client() as http:
        return {k["id"]: k for k in http.get("/admin/guardrails/prompt-log/keys").json()}


def _wait_for_line(gw: Gateway, text: str) -> None:
    assert gw.output is not None
    deadline = time.monotonic() + 10
    while not any(text in line for line in gw.output.lines):
        assert time.monotonic() < deadline, f"the gateway did not log {text!r}"
        time.sleep(0.05)


def test_a_key_that_does_not_resolve_costs_only_what_needs_it(
    gateway: Gateway, keys: dict[str, Path], database: str, tmp_path: Path
) -> None:
    _, key = _tenant(gateway, log_prompts=True)
    k1 = {"id": "k1", "key_ref": f"file:{keys['k1']}"}
    k2 = {"id": "k2", "key_ref": f"file:{keys['k2']}"}
    # k1 sealed a record, then its file goes missing (an older key, kept to open records).
    _set_keys(gateway, [k1])
    old = _ask(gateway, key, f"sealed by k1, {EMAIL}")
    _logged(gateway, old)
    lost = tmp_path / "k1.key"
    try:
        _set_keys(gateway, [k2, {"id": "k1", "key_ref": f"file:{lost}"}])
        # New records are still sealed, with k2, and open; only k1's do not.
        sealed = _ask(gateway, key, f"sealed by k2, {EMAIL}")
        _logged(gateway, sealed)
        assert _opened(gateway, sealed).json()["key_id"] == "k2"
        refused = _opened(gateway, old)
        assert refused.status_code == 409, refused.text
        assert "its key 'k1' does not resolve" in refused.json()["error"]["message"]
        _wait_for_line(gateway, "prompt log key 'k1' does not resolve")
        listed = _keys_listed(gateway)
        assert (listed["k2"]["resolves"], listed["k1"]["resolves"]) == (True, False)
        assert listed["k1"]["records"] >= 1
        assert _unresolved_keys(gateway) == 1
        # The sealing key itself does not resolve: the request is answered, nothing of its
        # prompt is kept (never sealed under k2 instead), and each one says so.
        missing = tmp_path / "k3.key"
        _set_keys(gateway, [{"id": "k3", "key_ref": f"file:{missing}"}, k2])
        unsealed = _ask(gateway, key, f"not sealed, {EMAIL}")
        _logged(gateway, unsealed)
        assert _rows(database, unsealed) == []
        _wait_for_line(gateway, f"prompt of {unsealed} not logged: its key 'k3' does not resolve")
        listed = _keys_listed(gateway)
        assert listed["k3"]["sealing"] is True and listed["k3"]["resolves"] is False
        assert _opened(gateway, sealed).status_code == 200
        # Once the key is in place it seals the next record.
        missing.write_text(secrets.token_urlsafe(32))
        later = _ask(gateway, key, f"sealed by k3, {EMAIL}")
        _logged(gateway, later)
        assert _opened(gateway, later).json()["key_id"] == "k3"
        assert _unresolved_keys(gateway) == 0
    finally:
        _set_keys(gateway, [k1])


def _unresolved_keys(gw: Gateway) -> float:
    """The gateway's `gateway_prompt_log_keys_unresolved` gauge."""
    with gw.client() as http:
        families = text_string_to_metric_families(http.get("/metrics").text)
    (family,) = [f for f in families if f.name == "gateway_prompt_log_keys_unresolved"]
    (sample,) = family.samples
    return sample.value


def test_an_opt_in_needs_keys_and_a_tenant(gateway: Gateway) -> None:
    with gateway.client() as http:
        model = http.put(f"/admin/guardrails/overrides/model/{MODEL}", json={"log_prompts": True})
        assert model.status_code == 400
        assert "log_prompts is a tenant's choice" in model.json()["error"]["message"]
        current = http.get("/admin/config").json()["document"]
        current["guardrails"]["prompt_log"] = None
        current["guardrails"]["overrides"].append({"team": "team_x", "log_prompts": True})
        refused = http.put("/admin/config", json={"document": current})
        assert refused.status_code == 400
        assert "log_prompts needs prompt_log.keys" in refused.json()["error"]["message"]


def test_a_long_prompt_is_kept_redacted_then_cut_to_the_cap(gateway: Gateway) -> None:
    _, key = _tenant(gateway, log_prompts=True)
    with gateway.client() as http:
        document = http.get("/admin/config").json()["document"]
        kept = dict(document["guardrails"]["prompt_log"])
        document["guardrails"]["prompt_log"] = {**kept, "max_chars": 10}
        refused = http.put("/admin/config", json={"document": document})
        assert refused.status_code == 400
        assert "max_chars" in refused.json()["error"]["message"]
        document["guardrails"]["prompt_log"] = {**kept, "max_chars": 100}
        put = http.put("/admin/config", json={"document": document})
        assert put.status_code == 200, put.text
    try:
        # The cut falls inside the address: it was redacted first, so none of it is kept.
        filler = "lorem ipsum " * 8
        prompt = f"{filler}{EMAIL} and then {MARKER} " + "dolor sit amet " * 200
        request_id = _ask(gateway, key, prompt)
        _logged(gateway, request_id)
        opened = _opened(gateway, request_id).json()
        content = opened["request"]["messages"][0]["content"]
        assert content == f"{filler}[EMAIL_1] and then {MARKER} dolor sit amet "[:100]
        assert opened["truncated"] is True
        assert len(opened["response"]) <= 100
        assert EMAIL.split("@")[0] not in str(opened) and MARKER not in str(opened)
        short = _ask(gateway, key, f"short, {EMAIL}")
        _logged(gateway, short)
        # A text within the cap is kept whole.
        assert _opened(gateway, short).json()["request"]["messages"][0]["content"] == (
            "short, [EMAIL_1]"
        )
    finally:
        with gateway.client() as http:
            document = http.get("/admin/config").json()["document"]
            document["guardrails"]["prompt_log"] = kept
            assert http.put("/admin/config", json={"document": document}).status_code == 200


def test_the_keys_route_shows_each_keys_role_and_records(
    gateway: Gateway, keys: dict[str, Path]
) -> None:
    _, key = _tenant(gateway, log_prompts=True)
    with gateway.client() as http:
        kept = http.get("/admin/config").json()["document"]["guardrails"]["prompt_log"]
    try:
        _set_keys(gateway, [{"id": "k1", "key_ref": f"file:{keys['k1']}"}])
        _logged(gateway, _ask(gateway, key, f"sealed by k1, {EMAIL}"))
        k2 = {"id": "k2", "key_ref": f"file:{keys['k2']}"}
        _set_keys(gateway, [k2])
        with gateway.client() as http:
            before = {k["id"]: k for k in http.get("/admin/guardrails/prompt-log/keys").json()}
        _logged(gateway, _ask(gateway, key, f"sealed by k2, {EMAIL}"))
        readonly = _readonly_token(gateway)
        with gateway.client(readonly) as http:
            listed = http.get("/admin/guardrails/prompt-log/keys")
        assert listed.status_code == 200, listed.text
        after = listed.json()
        assert after[0]["id"] == "k2"
        found = {k["id"]: k for k in after}
        records = before["k2"]["records"] + 1
        assert found["k2"] == {
            "id": "k2", "configured": True, "sealing": True, "resolves": True, "records": records
        }  # fmt: skip
        # k1 sealed records but is no longer listed: they cannot be opened until it is back.
        assert found["k1"]["configured"] is False and found["k1"]["records"] >= 1
        assert keys["k2"].read_text() not in listed.text and str(keys["k2"]) not in listed.text
    finally:
        with gateway.client() as http:
            document = http.get("/admin/config").json()["document"]
            document["guardrails"]["prompt_log"] = kept
            assert http.put("/admin/config", json={"document": document}).status_code == 200


def _readonly_token(gw: Gateway) -> str:
    with gw.client() as http:
        name = f"ro-{secrets.token_hex(3)}"
        token: str = http.post("/admin/tokens", json={"name": name, "role": "readonly"}).json()[
            "token"
        ]
    return token


def _set_keys(gw: Gateway, keys: list[dict[str, str]]) -> None:
    with gw.client() as http:
        document = http.get("/admin/config").json()["document"]
        document["guardrails"]["prompt_log"] = {"keys": keys}
        put = http.put("/admin/config", json={"document": document})
        assert put.status_code == 200, put.text
