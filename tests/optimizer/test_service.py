"""The optimizer service's own HTTP surface, called directly: what it runs, what it refuses."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.optimizer.conftest import Stack

pytestmark = pytest.mark.timeout(600)
ASK = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "user", "content": "hi"}],
    "optillm_approach": "re2",
}
FROM_GATEWAY = {"x-gateway-parent-request-id": "req_parent"}


def test_it_lists_what_it_runs_and_never_code_or_url_approaches(stack: Stack) -> None:
    listed = httpx.get(f"{stack.optimizer_url}/approaches").json()["data"]
    calls = {row["name"]: row["expected_calls"] for row in listed}
    assert {"none", "re2", "cot_reflection", "moa", "bon", "self_consistency"} <= set(calls)
    assert {"plansearch", "rto", "leap", "mcts", "pvg"} <= set(calls)
    assert not {"z3", "executecode", "readurls"} & set(calls)
    assert calls["self_consistency"] == 5
    assert httpx.get(f"{stack.optimizer_url}/health").json()["status"] == "ok"


def test_it_refuses_requests_without_the_gateways_credential_or_with_bad_fields(
    stack: Stack,
) -> None:
    url = f"{stack.optimizer_url}/v1/chat/completions"
    bearer = {"authorization": "Bearer sk-gwdel-unknown", **FROM_GATEWAY}
    assert httpx.post(url, json=ASK, headers=FROM_GATEWAY).status_code == 401
    unknown = httpx.post(url, json={**ASK, "optillm_approach": "z3"}, headers=bearer)
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "optillm_approach"
    assert httpx.post(url, content=b"{", headers=bearer).status_code == 400
    # A credential the gateway never minted: its sub-call is refused, and so is the run.
    refused = httpx.post(url, json=ASK, headers=bearer, timeout=30)
    assert refused.status_code == 401
    assert "delegated credential" in refused.json()["error"]["message"]


def test_its_sub_calls_outlast_the_gateway_closing_idle_connections(stack: Stack) -> None:
    ask = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    body = {**ask, "max_tokens": 16, "optillm_approach": "self_consistency"}
    with stack.gateway.client() as client:
        for _ in range(2):
            answer = client.post("/v1/chat/completions", json=body, timeout=60)
            assert answer.status_code == 200
            assert answer.headers["x-gateway-optimizer"].startswith("self_consistency; calls=5")
            # Past the gateway's keep_alive_s (1 s here): it closes the idle connections.
            time.sleep(1.5)
