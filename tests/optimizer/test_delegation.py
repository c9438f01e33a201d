"""A delegated credential is good for its own request's chat sub-calls, on its model, up to
`max_calls`, while that request runs: nothing else, whoever holds it.

The wiretap holds the optimizer's answer back, so each run (and its credential) lasts
exactly as long as the checks need, however busy the machine; the checks then use the
credential read off the wire, as a technique gone wrong (or anyone who copied it) would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.optimizer.conftest import Stack

pytestmark = pytest.mark.timeout(600)
QUESTION = [{"role": "user", "content": "How many legs do three spiders have?"}]
CHAT = {"model": "gpt-4o-mini", "messages": QUESTION, "max_tokens": 8}


@dataclass
class HeldRun:
    """A parent request whose optimizer run has started and whose answer is held back."""

    gateway_url: str
    credential: str
    parent: str
    thread: threading.Thread
    result: dict[str, httpx.Response] = field(default_factory=dict)

    def post(self, path: str, body: dict[str, Any], **headers: str) -> httpx.Response:
        auth = {"authorization": f"Bearer {self.credential}", **headers}
        with httpx.Client(base_url=self.gateway_url, headers=auth, timeout=60) as client:
            return client.post(path, json=body)

    def get(self, path: str) -> httpx.Response:
        auth = {"authorization": f"Bearer {self.credential}"}
        with httpx.Client(base_url=self.gateway_url, headers=auth, timeout=60) as client:
            return client.get(path)

    def answer(self) -> httpx.Response:
        self.thread.join(timeout=120)
        return self.result["answer"]


@contextmanager
def held_run(stack: Stack, approach: str = "re2") -> Iterator[HeldRun]:
    """Inside: a run of `approach` on gpt-4o-mini, going on; after: it has answered."""
    seen = len(stack.tap.credentials())
    result: dict[str, httpx.Response] = {}

    def parent() -> None:
        body = {**CHAT, "max_tokens": 64, "optillm_approach": approach}
        with stack.gateway.client() as client:
            result["answer"] = client.post("/v1/chat/completions", json=body, timeout=120)

    thread = threading.Thread(target=parent)
    with stack.tap.holding_answers():
        thread.start()
        deadline = time.monotonic() + 60
        while len(stack.tap.credentials()) <= seen:
            assert time.monotonic() < deadline, "no delegated credential went to the optimizer"
            time.sleep(0.01)
        run = HeldRun(
            stack.gateway.url,
            stack.tap.credentials()[seen],
            stack.tap.parents()[seen],
            thread,
            result,
        )
        # The optimizer's own sub-call (re2 makes one) is in before the test's.
        assert len(stack.sub_calls(run.parent, expected=1)) == 1
        yield run
    run.answer()


def sim_total(stack: Stack) -> int:
    with stack.sim() as sim:
        return int(sim.get("/_sim/stats").json()["total"])


def test_sub_calls_past_max_calls_are_refused_and_reach_no_provider(stack: Stack) -> None:
    optimizer = {"url": f"http://127.0.0.1:{stack.tap.port}", "max_calls": 3}
    with stack.reconfigured("optimizer", optimizer), held_run(stack) as run:
        before = sim_total(stack)
        # One call used; five more at once: two fit under the cap of three.
        with ThreadPoolExecutor(5) as pool:
            extra = list(pool.map(lambda _: run.post("/v1/chat/completions", CHAT), range(5)))
        late = run.post("/v1/chat/completions", CHAT)
        reached = sim_total(stack) - before
    answer = run.answer()
    assert sorted(r.status_code for r in extra) == [200, 200, 429, 429, 429]
    for refused in [r for r in extra if r.status_code == 429] + [late]:
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "optimizer_max_calls"
        assert "3 sub-calls" in error["message"]
    assert reached == 2
    # The run is charged for the three sub-calls made, and nothing for the refused ones.
    assert answer.status_code == 200
    assert "calls=3" in answer.headers["x-gateway-optimizer"]
    children = stack.sub_calls(run.parent, expected=3)
    assert [child["status"] for child in children] == [200, 200, 200]
    record = stack.record(run.parent)
    assert record["cost_usd"] == pytest.approx(sum(child["cost_usd"] for child in children))


def test_the_optimizer_never_makes_more_sub_calls_than_max_calls(stack: Stack) -> None:
    # moa's three calls do not fit in two: refused before any sub-call.
    optimizer = {"url": f"http://127.0.0.1:{stack.tap.port}", "max_calls": 2}
    before = sim_total(stack)
    with stack.reconfigured("optimizer", optimizer), stack.gateway.client() as client:
        refused = client.post(
            "/v1/chat/completions", json={**CHAT, "optillm_approach": "moa"}, timeout=120
        )
    assert refused.status_code == 400
    assert "max_calls of 2" in refused.json()["error"]["message"]
    assert sim_total(stack) == before


def test_the_credential_reaches_no_other_model_api_or_endpoint(stack: Stack) -> None:
    with held_run(stack) as run:
        chat = "/v1/chat/completions"
        other_model = run.post(chat, {**CHAT, "model": "m-slow"})
        prefixed = run.post(chat, {**CHAT, "model": "re2-gpt-4o-mini"})
        nested = run.post(chat, {**CHAT, "optillm_approach": "bon"})
        in_metadata = run.post(chat, {**CHAT, "metadata": {"optillm_approach": "bon"}})
        scoped = {
            "embeddings": run.post(
                "/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"}
            ),
            "messages": run.post("/v1/messages", CHAT),
            "responses": run.post("/v1/responses", {"model": "gpt-4o-mini", "input": "hi"}),
            "completions": run.post("/v1/completions", {"model": "gpt-4o-mini", "prompt": "x"}),
        }
        unknown = {
            "count_tokens": run.post("/v1/messages/count_tokens", CHAT),
            "models": run.get("/v1/models"),
            "providers": run.get("/v1/providers/health"),
            "team usage": run.get("/v1/teams/team_x/usage"),
            "admin logs": run.get("/admin/logs"),
            "admin keys": run.post("/admin/keys", {}),
            "admin reload": run.post("/admin/config/reload", {}),
            "admin sessions": run.get("/admin/sessions"),
        }
        # Still good for what it is for, to the end of the run.
        allowed = run.post(chat, CHAT, **{"x-api-key": "ignored"})
    after = run.post(chat, CHAT)
    assert other_model.status_code == 403
    assert other_model.json()["error"]["code"] == "delegation_scope"
    assert "'gpt-4o-mini' only" in other_model.json()["error"]["message"]
    for refused in (nested, in_metadata, prefixed):
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "delegation_scope"
        assert "cannot start an optimizer run" in refused.json()["error"]["message"]
    for name, refused in scoped.items():
        assert refused.status_code == 403, name
        assert "chat completion sub-calls" in refused.text, name
    for name, refused in unknown.items():
        assert refused.status_code == 401, (name, refused.text)
    assert allowed.status_code == 200
    assert after.status_code == 401
    assert "ended" in after.json()["error"]["message"]
    answer = run.answer()
    assert answer.status_code == 200
    assert run.credential not in str(answer.headers) + answer.text


def test_the_credential_cannot_ride_a_routing_rule_to_another_model(stack: Stack) -> None:
    # (A rule's header must be one the gateway keeps: x-session-id is.)
    rules = {"rules": [
        {"match": {"header": {"x-session-id": "research"}}, "route_to": "m-slow"},
        {"match": {"tag": "research"}, "route_to": "m-slow"},
    ]}  # fmt: skip
    with stack.reconfigured("routing", rules), held_run(stack) as run:
        by_header = run.post("/v1/chat/completions", CHAT, **{"x-session-id": "research"})
        by_tag = run.post("/v1/chat/completions", {**CHAT, "metadata": {"tags": ["research"]}})
        # The same requests with the caller's own key are routed by the rules.
        with stack.gateway.client() as client:
            ruled = client.post(
                "/v1/chat/completions", json=CHAT, headers={"x-session-id": "research"}
            )
    assert ruled.headers["x-gateway-model"] == "m-slow"
    for refused in (by_header, by_tag):
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "delegation_scope"
