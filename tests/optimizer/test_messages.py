"""Anthropic's Messages API through the optimizer, with the official `anthropic` SDK: the
approach named in the body, in metadata or as a model prefix; the answer (a message or its
stream) in Anthropic's format; its sub-calls under the parent with their sums on it; a
disallowed approach refused in Anthropic's error shape."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from tests.optimizer.conftest import Stack, assert_rolled_up
from tests.optimizer.test_approaches import calls_in

pytestmark = pytest.mark.timeout(600)
QUESTION: list[Any] = [{"role": "user", "content": "How many wheels have four bicycles?"}]
TOOL_TURNS: list[Any] = [
    {"role": "user", "content": "What is the weather in Oslo?"},
    {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Oslo"}}
        ],
    },
    {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "4 C, rain"}],
    },
]
TOOLS: list[Any] = [
    {
        "name": "weather",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


def client(stack: Stack) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=stack.gateway.url, api_key=stack.gateway.master_key, max_retries=0
    )


@pytest.mark.parametrize(
    "selected",
    [
        {"model": "gpt-4o-mini", "extra_body": {"optillm_approach": "moa"}},
        {"model": "gpt-4o-mini", "metadata": {"optillm_approach": "moa", "user_id": "u-7"}},
        {"model": "moa-gpt-4o-mini"},
    ],
    ids=["body", "metadata", "model-prefix"],
)
def test_a_message_is_answered_by_the_approach_and_its_fan_out_adds_up(
    stack: Stack, selected: dict[str, Any]
) -> None:
    raw = client(stack).messages.with_raw_response.create(
        max_tokens=64, messages=QUESTION, **selected
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text"
    # The simulator echoes the prompt: moa's final call is about the question.
    assert message.content[0].text.startswith("Simulated reply to:")
    assert message.stop_reason == "end_turn"
    header = raw.headers["x-gateway-optimizer"]
    assert header.startswith("moa; ")
    assert calls_in(header) == 3
    record = assert_rolled_up(stack, raw.headers["x-request-id"], 3)
    assert message.usage.input_tokens == record["prompt_tokens"]
    assert message.usage.output_tokens == record["completion_tokens"]
    assert f"tokens={record['prompt_tokens'] + record['completion_tokens']}" in header


def test_a_streamed_message_delivers_the_final_answer_and_its_roll_up(stack: Stack) -> None:
    with client(stack).messages.stream(
        model="gpt-4o-mini",
        max_tokens=64,
        messages=QUESTION,
        extra_body={"optillm_approach": "bon"},
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
        headers = stream.response.headers
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds
    assert final.content[0].type == "text"
    assert final.content[0].text.startswith("Simulated reply to:")
    assert headers["x-gateway-optimizer"] == "bon; stream"
    record = assert_rolled_up(stack, headers["x-request-id"], 4)
    assert record["stream"] is True
    assert final.usage.output_tokens == record["completion_tokens"]


def test_a_streamed_message_hears_keep_alives_while_the_sub_calls_run(stack: Stack) -> None:
    body = {
        "model": "m-slow",  # 700 ms a call; the optimizer comments every 50 ms meanwhile
        "max_tokens": 64,
        "messages": QUESTION,
        "optillm_approach": "re2",
        "stream": True,
    }
    with (
        stack.gateway.client() as http,
        http.stream("POST", "/v1/messages", json=body) as response,
    ):
        assert response.status_code == 200
        lines = [line for line in response.iter_lines() if line]
    first_event = next(i for i, line in enumerate(lines) if line.startswith("event:"))
    assert lines[:first_event].count(": keep-alive") >= 3
    assert lines[first_event] == "event: message_start"
    assert lines[-2:] == ["event: message_stop", 'data: {"type": "message_stop"}']


def test_a_conversation_with_tool_results_reaches_every_sub_call_unflattened(
    stack: Stack,
) -> None:
    messages: list[Any] = [*TOOL_TURNS, {"role": "user", "content": "Should I take an umbrella?"}]
    with stack.sim() as sim:
        sim.post("/_sim/reset").raise_for_status()
        message = client(stack).messages.create(
            model="gpt-4o-mini",
            max_tokens=64,
            system="You are terse.",
            messages=messages,
            tools=TOOLS,
            extra_body={"optillm_approach": "moa"},
        )
        received = [r["body"] for r in sim.get("/_sim/requests").json()["requests"]]
    assert message.content[0].type == "text"
    assert len(received) == 3
    for body in received:
        roles = [m["role"] for m in body["messages"]]
        assert roles[:4] == ["system", "user", "assistant", "tool"]
        call = body["messages"][2]["tool_calls"][0]
        assert call["id"] == "toolu_1" and call["function"]["name"] == "weather"
        assert body["messages"][3] == {
            "role": "tool",
            "tool_call_id": "toolu_1",
            "content": "4 C, rain",
        }
        assert body["tools"][0]["function"]["name"] == "weather"
    assert "Should I take an umbrella?" in str(received[0]["messages"][-1]["content"])


def test_a_disallowed_approach_is_refused_in_anthropics_error_shape(stack: Stack) -> None:
    with stack.sim() as sim:
        before = int(sim.get("/_sim/stats").json()["total"])
    for approach, reason in (("z3", "model-written code"), ("leap", "opt-in")):
        with stack.admin() as admin:
            key = admin.post("/admin/keys", json={}).json()["key"]
        refusing = anthropic.Anthropic(base_url=stack.gateway.url, api_key=key, max_retries=0)
        with pytest.raises(anthropic.PermissionDeniedError, match=reason) as refused:
            refusing.messages.create(
                model="gpt-4o-mini",
                max_tokens=64,
                messages=QUESTION,
                extra_body={"optillm_approach": approach},
            )
        assert refused.value.status_code == 403
        body = refused.value.body
        assert isinstance(body, dict) and body["type"] == "error"
        assert body["error"]["type"] == "permission_error"
        assert approach in body["error"]["message"]
    with stack.sim() as sim:
        assert int(sim.get("/_sim/stats").json()["total"]) == before


def test_what_an_approach_cannot_honour_is_a_400_in_anthropics_shape(stack: Stack) -> None:
    before = len(stack.tap.sent())
    with pytest.raises(anthropic.BadRequestError, match="ends with a tool message") as refused:
        client(stack).messages.create(
            model="gpt-4o-mini",
            max_tokens=64,
            messages=TOOL_TURNS,
            tools=TOOLS,
            extra_body={"optillm_approach": "re2"},
        )
    body = refused.value.body
    assert isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    # The optimizer was asked and said why; no sub-call was made.
    assert len(stack.tap.sent()) > before
    assert stack.sub_calls(stack.tap.parents()[-1], expected=0) == []
