"""Guardrail policies changed at runtime through `/admin/guardrails/*`, in database mode.

Each write is a config version the gateway applies at once: a policy put through the API
blocks the next request (nothing reaches the simulator), a team's override set through it
beats the global policy, a bad policy is refused with its place and changes nothing, and
every write is one audit entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.databases import scratch_database, scratch_redis_prefix
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

MODEL = "gpt-4o-mini"
DENY = {
    "on": ["request", "response"],
    "checks": {"deny_list": {"words": ["project falcon"], "action": "block"}},
}


# This module's own simulator and gateway (on its own database and Redis prefix); the
# package's `sim` fixture resets and reads this simulator here.
@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    config = {"name": "sim", "record_limit": 50, "default": {"output_tokens": 8}}
    sim = start_simulator(config, tmp_path_factory.mktemp("guard-admin-sim"))
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def gateway(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("guard-admin")
    with scratch_database("guard") as url, scratch_redis_prefix("guard") as prefix:
        config = {
            "config": {"mode": "database", "poll_interval_s": 5},
            "database": {"url": url},
            "redis": {"url": "redis://127.0.0.1:6379/0", "prefix": prefix},
            "spend": {"spool_dir": str(directory / "spool"), "flush_interval_ms": 20},
            "backends": [
                {"name": "sim", "provider": "simulator", "endpoint": simulator.v1, "model": MODEL}
            ],
        }
        gw = start_gateway(config, directory, ready_timeout_s=300)
        yield gw
        gw.stop()


def _ask(gw: Gateway, content: str, key: str | None = None) -> str:
    client = openai.OpenAI(base_url=gw.v1, api_key=key or gw.master_key, max_retries=0)
    answer = client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": content}]
    )
    return answer.choices[0].message.content or ""


def _upstream_count(sim: httpx.Client) -> int:
    return len(sim.get("/_sim/requests").json()["requests"])


def _version(http: httpx.Client) -> int:
    return int(http.get("/admin/guardrails").headers["etag"].strip('"'))


def test_a_policy_put_through_the_api_applies_at_once_and_is_audited(
    gateway: Gateway, sim: httpx.Client
) -> None:
    with gateway.client() as http:
        put = http.put("/admin/guardrails/policies/deny", json=DENY)
        assert put.status_code == 200, put.text
        assert put.json()["name"] == "deny" and put.json()["on"] == ["request", "response"]
        assert [p["name"] for p in http.get("/admin/guardrails/policies").json()] == ["deny"]
        audit = http.get("/admin/audit", params={"target": "config"}).json()["data"][0]
    assert audit["action"] == "PUT /admin/guardrails/policies/{name}"
    assert audit["request_id"] == put.headers["x-request-id"]
    with pytest.raises(openai.BadRequestError) as refused:
        _ask(gateway, "status of project falcon?")
    assert refused.value.code == "content_policy_violation"
    assert _upstream_count(sim) == 0
    _ask(gateway, "status of the roadmap?")
    assert _upstream_count(sim) == 1
    with gateway.client() as http:
        assert http.delete("/admin/guardrails/policies/deny").status_code == 204
        assert http.delete("/admin/guardrails/policies/deny").status_code == 404
    _ask(gateway, "status of project falcon?")
    assert _upstream_count(sim) == 2


def test_a_team_override_through_the_api_beats_the_global_policy(
    gateway: Gateway, sim: httpx.Client
) -> None:
    with gateway.client() as http:
        team = http.post("/admin/teams", json={"name": "falcon-team"}).json()
        key = http.post("/admin/keys", json={"team_id": team["id"]}).json()["key"]
        assert http.put("/admin/guardrails/policies/deny", json=DENY).status_code == 200
        override: dict[str, Any] = {"disable": ["deny"]}
        put = http.put(f"/admin/guardrails/overrides/team/{team['id']}", json=override)
        assert put.status_code == 200, put.text
        assert put.json()["team"] == team["id"] and put.json()["disable"] == ["deny"]
    _ask(gateway, "status of project falcon?", key)
    assert _upstream_count(sim) == 1
    with pytest.raises(openai.BadRequestError):
        _ask(gateway, "status of project falcon?")
    assert _upstream_count(sim) == 1
    with gateway.client() as http:
        gone = http.delete(f"/admin/guardrails/overrides/team/{team['id']}")
        assert gone.status_code == 204
        assert http.get(f"/admin/guardrails/overrides/team/{team['id']}").status_code == 404
        http.delete("/admin/guardrails/policies/deny").raise_for_status()


def test_a_bad_policy_is_refused_with_its_place_and_changes_nothing(gateway: Gateway) -> None:
    bad_rule = {"checks": {"regex": {"rules": [{"name": "bad", "pattern": "(a)\\1"}]}}}
    bad_entity = {"checks": {"pii": {"entities": ["email", "shoe_size"]}}}
    with gateway.client() as http:
        before = _version(http)
        refused = http.put("/admin/guardrails/policies/r", json=bad_rule)
        assert refused.status_code == 400
        message = refused.json()["error"]["message"]
        assert "guardrails.policies.0.checks.regex.rules.0.pattern" in message
        assert "not an RE2 pattern" in message
        unknown = http.put("/admin/guardrails/policies/p", json=bad_entity)
        assert unknown.status_code == 400
        assert "guardrails.policies.0.checks.pii.entities.1" in unknown.json()["error"]["message"]
        renamed = http.put("/admin/guardrails/policies/a", json={**DENY, "name": "b"})
        assert renamed.status_code == 400
        scope = http.put("/admin/guardrails/overrides/planet/x", json={"disable": []})
        assert scope.status_code in (400, 422)
        extra = http.put("/admin/guardrails/overrides/team/t", json={"team": "other"})
        assert extra.status_code == 400
        assert _version(http) == before
        assert http.get("/admin/guardrails/policies").json() == []


def test_a_readonly_token_reads_policies_but_cannot_write_them(gateway: Gateway) -> None:
    with gateway.client() as http:
        token = http.post("/admin/tokens", json={"name": "viewer", "role": "readonly"}).json()
    with gateway.client(token["token"]) as http:
        assert http.get("/admin/guardrails/policies").status_code == 200
        assert http.put("/admin/guardrails/policies/deny", json=DENY).status_code == 403
