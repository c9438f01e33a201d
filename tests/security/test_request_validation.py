"""Findings 3 (content parts) and 8 (request side): odd request bodies get a clear 400,
the keep-alive connection stays usable, and nothing reaches the upstream."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.security.conftest import MASTER, chat_body, unique
from tests.support.processes import Gateway

# Deeper than any JSON encoder of the client's goes: spliced into the body as text.
DEEP = "[" * 1000 + '"x"' + "]" * 1000


def _with_deep(body: dict[str, Any]) -> str:
    return json.dumps(body).replace('"<DEEP>"', DEEP)


def _nested_object(levels: int) -> Any:
    value: Any = {"type": "string"}
    for _ in range(levels):
        value = {"type": "object", "properties": {"p": value}}
    return value


JSON = {"content-type": "application/json"}
BAD_BODIES: dict[str, dict[str, Any]] = {
    "schema nested 300 levels": chat_body(
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "deep", "schema": _nested_object(150)},
        }
    ),
    "tool parameters nested 300 levels": chat_body(
        tools=[{"type": "function", "function": {"name": "f", "parameters": _nested_object(150)}}]
    ),
    "text nested 1000 levels": chat_body([{"type": "text", "text": "<DEEP>"}]),
    "text not a string": chat_body([{"type": "text", "text": 5}]),
    "part not an object": chat_body(["hello"]),
    "part without a type": chat_body([{"text": "hello"}]),
    "part of an unknown type": chat_body([{"type": "bogus", "text": "hello"}]),
    "image part without a url": chat_body([{"type": "image_url", "image_url": {}}]),
    "image url not a string": chat_body([{"type": "image_url", "image_url": {"url": 7}}]),
    "content a number": chat_body(12),
    "stream_options a string": chat_body(stream=True, stream_options="yes"),
    "stream_options a list": chat_body(stream=True, stream_options=[1]),
    "include_usage not a boolean": chat_body(stream=True, stream_options={"include_usage": "y"}),
    "n not an integer": chat_body(n="5"),
    "n of zero": chat_body(n=0),
    "n past OpenAI's maximum": chat_body(n=129),
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_odd_chat_bodies_are_a_clear_400(gateway: Gateway, sim: httpx.Client, name: str) -> None:
    with gateway.client(MASTER) as http:
        refused = http.post(
            "/v1/chat/completions", content=_with_deep(BAD_BODIES[name]), headers=JSON
        )
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert error["type"] == "invalid_request_error" and error["message"]
        # The same connection still serves the next request.
        fresh = chat_body(unique("next"))
        assert http.post("/v1/chat/completions", json=fresh).status_code == 200
    assert len(sim.get("/_sim/requests").json()["requests"]) == 1


ANTHROPIC_BAD = {
    "block nested 1000 levels": [{"type": "text", "text": "<DEEP>"}],
    "block without a type": [{"text": "hi"}],
    "image block without a source": [{"type": "image"}],
    "text not a string": [{"type": "text", "text": ["a"]}],
}


@pytest.mark.parametrize("name", sorted(ANTHROPIC_BAD))
def test_odd_message_blocks_are_a_clear_400_in_anthropic_shape(
    gateway: Gateway, sim: httpx.Client, name: str
) -> None:
    body = {
        "model": "gpt-4o-mini",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": ANTHROPIC_BAD[name]}],
    }
    with gateway.client(MASTER) as http:
        refused = http.post("/v1/messages", content=_with_deep(body), headers=JSON)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["type"] == "invalid_request_error"
    assert sim.get("/_sim/requests").json()["requests"] == []


def test_well_formed_content_parts_still_pass(gateway: Gateway) -> None:
    parts = [
        {"type": "text", "text": "describe"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
    ]
    with gateway.client(MASTER) as http:
        # The first Anthropic request to an OpenAI backend loads LiteLLM: slow on a busy box.
        http.timeout = httpx.Timeout(120)
        answered = http.post("/v1/chat/completions", json=chat_body(parts))
        assert answered.status_code == 200, answered.text
        anthropic = http.post(
            "/v1/messages",
            json={
                "model": "gpt-4o-mini",
                "max_tokens": 16,
                "system": [{"type": "text", "text": "be brief"}],
                "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            },
        )
    assert anthropic.status_code == 200, anthropic.text


@pytest.mark.parametrize(
    "field",
    [
        {"tools": 5},
        {"tools": "x"},
        {"tools": [{"a": 1}]},
        {"stop_sequences": 5},
        {"stop_sequences": [1]},
    ],
    ids=["tools a number", "tools a string", "tool without a name", "stops a number", "stop 1"],
)
def test_malformed_messages_fields_never_take_the_model_down(
    gateway: Gateway, sim: httpx.Client, field: dict[str, Any]
) -> None:
    """Sent again and again, a field LiteLLM cannot translate is the client's 400 each time,
    nothing reaches the upstream, and the model keeps answering everyone else (it was a
    502 counted against the deployment, and a few of them opened its circuit)."""
    body = {
        "model": "gpt-4o-mini",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "x"}],
    }
    with gateway.client(MASTER) as http:
        for _ in range(8):
            refused = http.post("/v1/messages", json={**body, **field})
            assert refused.status_code == 400, refused.text
            assert refused.json()["error"]["type"] == "invalid_request_error"
        assert sim.get("/_sim/requests").json()["requests"] == []
        assert http.post("/v1/messages", json=body).status_code == 200
