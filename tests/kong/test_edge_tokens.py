"""A signed-token caller through the edge: the headers the pre-function hands on (kong.yaml's
Lua under LuaJIT), sent to a real gateway that trusts the edge secret and `auth.jwt`.

The token route has no key-auth, so nothing at the edge names a consumer: llm-proxy verifies
the token itself and charges the team its claims name, whatever consumer a client forged.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.identity.idp import SigningKey, sign
from tests.kong.kong_pdk import EdgeRequest, PreFunction
from tests.kong.test_edge_lua import edge_plugin
from tests.support.processes import Gateway, start_gateway, start_simulator

ISSUER = "https://idp.edge.test"
MASTER = "sk-test-master"
EDGE_SECRET = secrets.token_urlsafe(24)
os.environ["GW_TEST_KONG_EDGE_SECRET"] = EDGE_SECRET


@pytest.fixture(scope="module")
def signing_key() -> SigningKey:
    return SigningKey("RS256")


@pytest.fixture(scope="module")
def gw(signing_key: SigningKey, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("edge-tokens")
    simulator = start_simulator({"name": "sim-edge", "models": {}}, directory)
    jwks = directory / "jwks.json"
    jwks.write_text(json.dumps({"keys": [signing_key.jwk]}))
    issuer = {
        "issuer": ISSUER,
        "jwks_file": str(jwks),
        "audiences": ["llm-gateway"],
        "claims": {"team_id": "$.groups[0]"},
    }
    config = {
        "backends": [
            {"name": "dep", "provider": "simulator", "endpoint": simulator.v1, "model": "m"}
        ],
        "gateway": {"edge_secret_ref": "env:GW_TEST_KONG_EDGE_SECRET"},
        "auth": {"jwt": {"issuers": [issuer]}},
        "spend": {"spool_dir": str(directory / "spool")},
    }
    gateway = start_gateway(config, directory, MASTER)
    yield gateway
    gateway.stop()
    simulator.stop()


@pytest.fixture(scope="module")
def team(gw: Gateway) -> dict[str, Any]:
    with gw.client() as http:
        response = http.post("/admin/teams", json={"name": f"edge-{secrets.token_hex(3)}"})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


@pytest.fixture(scope="module")
def other_key(gw: Gateway) -> dict[str, Any]:
    with gw.client() as http:
        response = http.post("/admin/keys", json={"name": "someone-else"})
    assert response.status_code == 201, response.text
    made: dict[str, Any] = response.json()
    return made


def through_edge(headers: dict[str, str]) -> dict[str, str]:
    """What Kong's pre-function forwards to llm-proxy for these client headers."""
    pre = PreFunction(edge_plugin("pre-function")["config"]["access"])
    request = pre.run(EdgeRequest(headers=headers, env={"GATEWAY_EDGE_SECRET": EDGE_SECRET}))
    assert request.exit_status is None
    return request.headers


def chat(gw: Gateway, headers: dict[str, str]) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(f"{gw.v1}/chat/completions", json=body, headers=headers, timeout=30)


def logged(gw: Gateway, team_id: str, expected: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with gw.client() as http:
        for _ in range(100):  # the spend log is written in the background
            rows = http.get("/admin/logs", params={"team_id": team_id}).json()["data"]
            if len(rows) >= expected:
                break
            time.sleep(0.05)
    return rows


def test_a_token_caller_is_served_as_its_claims_say_behind_the_edge(
    gw: Gateway, signing_key: SigningKey, team: dict[str, Any], other_key: dict[str, Any]
) -> None:
    token = sign(signing_key, ISSUER, {"sub": "alice", "groups": [team["name"]]})
    forged = {"x-consumer-username": other_key["id"], "x-credential-identifier": "forged"}
    headers = through_edge({"authorization": f"Bearer {token}", **forged})

    answer = chat(gw, headers)

    assert answer.status_code == 200, answer.text
    (row,) = logged(gw, team["id"], expected=1)
    assert row["key_id"].startswith("jwt_") and row["key_id"] != other_key["id"]


def test_a_bad_token_behind_the_edge_is_refused_with_its_reason(
    gw: Gateway, team: dict[str, Any], other_key: dict[str, Any]
) -> None:
    stranger = SigningKey("RS256")  # not in the issuer's JWKS
    token = sign(stranger, ISSUER, {"groups": [team["name"]]})
    headers = through_edge(
        {"authorization": f"Bearer {token}", "x-consumer-username": other_key["id"]}
    )

    refused = chat(gw, headers)

    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_token"


def test_a_key_caller_still_needs_key_auth_behind_the_edge(
    gw: Gateway, other_key: dict[str, Any]
) -> None:
    # The key route's pre-function output alone (no key-auth to name the consumer) is not
    # enough: the plaintext key is gone and llm-proxy has nothing to identify.
    headers = through_edge({"authorization": f"Bearer {other_key['key']}"})
    assert chat(gw, headers).status_code == 401
