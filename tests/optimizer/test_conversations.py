"""Multi-turn chats and tool messages reach every sub-call as sent, never flattened; what an
approach cannot honour is refused with a 400 that says why."""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.optimizer.conftest import Stack

pytestmark = pytest.mark.timeout(600)
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]
HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the weather in Oslo?"},
    {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    },
    {"role": "tool", "tool_call_id": "call_1", "content": "4 degrees, rain"},
]


def test_history_and_tool_messages_reach_every_sub_call_as_sent(stack: Stack) -> None:
    messages = [*HISTORY, {"role": "user", "content": "Should I take an umbrella?"}]
    with stack.sim() as sim:
        sim.post("/_sim/reset").raise_for_status()
        completion = stack.client().chat.completions.create(
            model="gpt-4o-mini",
            messages=messages,  # type: ignore[arg-type]
            tools=TOOLS,  # type: ignore[list-item]
            max_tokens=64,
            extra_body={"optillm_approach": "moa"},
        )
        received = [r["body"] for r in sim.get("/_sim/requests").json()["requests"]]
    assert completion.choices[0].message.content
    assert len(received) == 3
    for body in received:
        sent = body["messages"]
        # The approach's own system prompt first, then the conversation before the last
        # user turn exactly as the client sent it, then the approach's own turns.
        assert sent[0]["role"] == "system"
        assert sent[1 : len(HISTORY)] == HISTORY[1:]
        assert body["tools"] == TOOLS
        assert body["tool_choice"] == "none"
    assert "Should I take an umbrella?" in received[0]["messages"][-1]["content"]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"messages": HISTORY}, "ends with a tool message"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"n": 2}, "n must be 1"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
    ],
)
def test_what_an_approach_cannot_honour_is_a_400_naming_it(
    stack: Stack, change: dict[str, Any], named: str
) -> None:
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "messages": [*HISTORY, {"role": "user", "content": "And tomorrow?"}],
        "tools": TOOLS,
        "max_tokens": 64,
        **change,
    }
    with pytest.raises(openai.BadRequestError, match=named):
        stack.client().chat.completions.create(**body, extra_body={"optillm_approach": "re2"})
