"""What the gateway holds an optimizer run to: the caller's budget (reserved for the whole
fan-out before any sub-call), the key's and team's approaches, the deadline, the stream.
The delegated credential's scope is test_delegation's."""

from __future__ import annotations

import secrets
from typing import Any

import openai
import pytest

from tests.optimizer.conftest import Stack
from tests.optimizer.test_approaches import calls_in

pytestmark = pytest.mark.timeout(600)
QUESTION = [{"role": "user", "content": "How many legs do three spiders have?"}]


def issue_key(stack: Stack, **fields: Any) -> str:
    with stack.admin() as admin:
        answer = admin.post("/admin/keys", json=fields)
        answer.raise_for_status()
        return str(answer.json()["key"])


def create(stack: Stack, path: str, **fields: Any) -> str:
    with stack.admin() as admin:
        answer = admin.post(path, json={"name": f"opt-{secrets.token_hex(4)}", **fields})
        answer.raise_for_status()
        return str(answer.json()["id"])


def sim_total(stack: Stack) -> int:
    with stack.sim() as sim:
        return int(sim.get("/_sim/stats").json()["total"])


def test_a_budget_too_small_for_the_fan_out_is_refused_before_any_sub_call(stack: Stack) -> None:
    # One call reserves about 80 tokens (prompt + max_tokens); self_consistency five times that.
    budget = create(stack, "/admin/budgets", tokens_daily=250)
    client = stack.client(issue_key(stack, budget_id=budget))
    before = sim_total(stack)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=QUESTION,
            max_tokens=64,
            extra_body={"optillm_approach": "self_consistency"},
        )
    assert refused.value.code == "budget_exceeded"
    assert sim_total(stack) == before
    # The same budget takes the one plain call.
    client.chat.completions.create(model="gpt-4o-mini", messages=QUESTION, max_tokens=64)
    assert sim_total(stack) == before + 1


def test_approaches_are_allowed_per_key_and_team(stack: Stack) -> None:
    plain = stack.client(issue_key(stack))
    ask: dict[str, Any] = {"model": "gpt-4o-mini", "messages": QUESTION, "max_tokens": 64}
    # Opt-in approaches need a key or team that lists them; "never" ones nobody may run.
    with pytest.raises(openai.PermissionDeniedError, match="opt-in"):
        plain.chat.completions.create(**ask, extra_body={"optillm_approach": "leap"})
    for client in (plain, stack.client()):
        with pytest.raises(openai.PermissionDeniedError, match="model-written code"):
            client.chat.completions.create(**ask, extra_body={"optillm_approach": "z3"})
    only_re2 = stack.client(issue_key(stack, metadata={"optimizer_approaches": ["re2"]}))
    with pytest.raises(openai.PermissionDeniedError, match="'bon'"):
        only_re2.chat.completions.create(**ask, extra_body={"optillm_approach": "bon"})
    only_re2.chat.completions.create(**ask, extra_body={"optillm_approach": "re2"})
    team = create(stack, "/admin/teams", metadata={"optimizer_approaches": ["leap", "re2"]})
    member = stack.client(issue_key(stack, team_id=team))
    raw = member.chat.completions.with_raw_response.create(
        **ask, extra_body={"optillm_approach": "leap"}
    )
    assert raw.headers["x-gateway-optimizer"].startswith("leap; ")
    with pytest.raises(openai.PermissionDeniedError):
        member.chat.completions.create(**ask, extra_body={"optillm_approach": "moa"})
    with pytest.raises(openai.BadRequestError, match="Unknown approach"):
        plain.chat.completions.create(**ask, extra_body={"optillm_approach": "moa&nope"})


def test_past_the_deadline_one_plain_call_answers(stack: Stack) -> None:
    raw = stack.client().chat.completions.with_raw_response.create(
        model="m-slow",  # 700 ms a call: the first sample outlives a 300 ms deadline
        messages=QUESTION,
        max_tokens=64,
        extra_body={"optillm_approach": "self_consistency"},
        extra_headers={"x-gateway-deadline-ms": "300"},
    )
    assert raw.parse().choices[0].message.content
    header = raw.headers["x-gateway-optimizer"]
    assert header.startswith("self_consistency; fallback=deadline; calls=")
    children = stack.sub_calls(raw.headers["x-request-id"], expected=2)
    # The sample cut at the deadline, then the plain call that answered.
    assert [child["status"] for child in children].count(200) == 1
    assert f"calls={len(children)}" in header


def test_a_run_stops_at_max_total_tokens_and_its_last_answer_stands(stack: Stack) -> None:
    # About 30 tokens a sample here: the cap is crossed by the third of five.
    optimizer = {"url": f"http://127.0.0.1:{stack.tap.port}", "max_total_tokens": 80}
    with stack.reconfigured("optimizer", optimizer):
        raw = stack.client().chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=QUESTION,
            max_tokens=64,
            extra_body={"optillm_approach": "self_consistency"},
        )
    assert raw.parse().choices[0].message.content
    header = raw.headers["x-gateway-optimizer"]
    assert header.startswith("self_consistency; stopped=max_total_tokens; calls=")
    calls = calls_in(header)
    assert 1 <= calls < 5
    children = stack.sub_calls(raw.headers["x-request-id"], expected=calls)
    assert len(children) == calls
    tokens = [child["prompt_tokens"] + child["completion_tokens"] for child in children]
    # Checked before each call: the last one made crossed it, none was made after.
    assert sum(tokens) >= 80 > sum(tokens) - max(tokens)


def test_a_stream_keeps_the_connection_alive_then_delivers_the_final_answer(
    stack: Stack,
) -> None:
    body = {
        "model": "m-slow",
        "messages": QUESTION,
        "max_tokens": 64,
        "optillm_approach": "re2",
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    with (
        stack.gateway.client() as client,
        client.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert response.headers["x-gateway-optimizer"] == "re2; stream"
        lines = [line for line in response.iter_lines() if line]
    first_data = next(i for i, line in enumerate(lines) if line.startswith("data:"))
    # The sub-call takes 700 ms and the optimizer comments every 50 ms meanwhile.
    assert lines[:first_data].count(": keep-alive") >= 3
    assert lines[-1] == "data: [DONE]"

    raw = stack.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        max_tokens=64,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"optillm_approach": "moa"},
    )
    chunks = list(raw.parse())
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("Simulated reply to:")
    usage = chunks[-1].usage
    assert usage is not None and usage.completion_tokens > 0
    parent = raw.headers["x-request-id"]
    children = stack.sub_calls(parent, expected=3)
    record = stack.record(parent)
    assert record["stream"] is True
    assert record["prompt_tokens"] == sum(child["prompt_tokens"] for child in children)
    assert record["completion_tokens"] == sum(child["completion_tokens"] for child in children)
    assert record["cost_usd"] == pytest.approx(sum(child["cost_usd"] for child in children))
