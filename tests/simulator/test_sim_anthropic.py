"""The Anthropic wire format, through the official SDK and raw HTTP."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from tests.simulator.conftest import sse_events

MODEL = "claude-3-5-haiku-latest"
HELLO = [{"role": "user", "content": "Hello Claude, please answer briefly"}]
TOOL = {
    "name": "lookup",
    "description": "Look something up",
    "input_schema": {
        "type": "object",
        "properties": {"query": {"type": "string"}, "limit": {"type": "integer"}},
        "required": ["query"],
    },
}


@pytest.fixture
def client(sim_url: str, sim: httpx.Client) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=sim_url, api_key="sk-ant-test", max_retries=0)


def test_message(client: anthropic.Anthropic, sim: httpx.Client) -> None:
    message = client.messages.create(model=MODEL, max_tokens=256, messages=HELLO)  # type: ignore[arg-type]
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    block = message.content[0]
    assert block.type == "text"
    assert block.text.startswith("Simulated reply to: Hello Claude, please answer briefly")
    assert message.usage.output_tokens == 10
    assert message.usage.input_tokens > 5

    raw = sim.post("/v1/messages", json={"model": MODEL, "max_tokens": 256, "messages": HELLO})
    assert set(raw.json()) >= {"id", "type", "role", "model", "content", "stop_reason", "usage"}


def test_max_tokens_stops_the_message(client: anthropic.Anthropic) -> None:
    message = client.messages.create(model=MODEL, max_tokens=3, messages=HELLO)  # type: ignore[arg-type]
    assert message.stop_reason == "max_tokens"
    assert message.usage.output_tokens == 3


def test_stream_event_sequence(client: anthropic.Anthropic, sim: httpx.Client) -> None:
    whole = client.messages.create(model=MODEL, max_tokens=256, messages=HELLO)  # type: ignore[arg-type]
    with client.messages.stream(model=MODEL, max_tokens=256, messages=HELLO) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert whole.content[0].type == "text"
    assert text == whole.content[0].text
    assert final.usage.output_tokens == 10
    assert final.stop_reason == "end_turn"

    body = {"model": MODEL, "max_tokens": 256, "messages": HELLO, "stream": True}
    events = sse_events(sim.post("/v1/messages", json=body).text)
    names = [name for name, _ in events]
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 10,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    for name, data in events:
        assert json.loads(data)["type"] == name
    delta = json.loads(events[-2][1])
    assert delta["delta"] == {"stop_reason": "end_turn", "stop_sequence": None}
    assert delta["usage"] == {"output_tokens": 10}


def test_tool_use(client: anthropic.Anthropic) -> None:
    message = client.messages.create(
        model=MODEL,
        max_tokens=256,
        messages=HELLO,  # type: ignore[arg-type]
        tools=[TOOL],  # type: ignore[list-item]
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use"
    assert block.name == "lookup"
    assert isinstance(block.input, dict)
    assert isinstance(block.input["query"], str)

    with client.messages.stream(
        model=MODEL,
        max_tokens=256,
        messages=HELLO,  # type: ignore[arg-type]
        tools=[TOOL],  # type: ignore[list-item]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "tool_use"
    assert final.content[0].input == block.input


def test_errors_use_anthropics_shape(client: anthropic.Anthropic, sim: httpx.Client) -> None:
    missing = sim.post("/v1/messages", json={"model": MODEL, "messages": HELLO})
    assert missing.status_code == 400
    assert missing.json()["type"] == "error"
    assert missing.json()["error"]["type"] == "invalid_request_error"

    with pytest.raises(anthropic.RateLimitError) as caught:
        client.messages.create(
            model=MODEL,
            max_tokens=256,
            messages=HELLO,  # type: ignore[arg-type]
            extra_headers={"x-sim-fault": "429", "x-sim-retry-after": "3"},
        )
    response = caught.value.response
    assert response.headers["retry-after"] == "3"
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.json() == {
        "type": "error",
        "error": {"type": "rate_limit_error", "message": response.json()["error"]["message"]},
    }

    with pytest.raises(anthropic.InternalServerError) as overloaded:
        client.messages.create(
            model=MODEL,
            max_tokens=256,
            messages=HELLO,  # type: ignore[arg-type]
            extra_headers={"x-sim-fault": "529"},
        )
    assert overloaded.value.status_code == 529
    assert overloaded.value.response.json()["error"]["type"] == "overloaded_error"
