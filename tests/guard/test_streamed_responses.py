"""The guard on streamed Responses API answers, through the official openai SDK.

The simulator streams its answer (which quotes the prompt) a word per
`response.output_text.delta` event, so whatever the prompt holds reaches the gateway's
response stage split across events. What the client is streamed, what the closing events
repeat and what a stored response keeps must agree.
"""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest

from tests.guard.conftest import MODEL, configure, received
from tests.guard.test_gateway import DENY, EMAIL, PII, PRIVATE_KEY
from tests.support import openapi
from tests.support.processes import Gateway

SECRETS = {"name": "secrets", "on": ["response"], "checks": {"secrets": {"action": "redact"}}}


def _client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)


def _events(gw: Gateway, text: str, **asked: Any) -> list[Any]:
    """The stream's events, each valid against OpenAI's OpenAPI document."""
    stream = _client(gw).responses.create(model=MODEL, input=text, stream=True, **asked)
    events = list(stream)
    for event in events:
        openapi.validate("ResponseStreamEvent", event.to_dict())
    return events


def _streamed(events: list[Any]) -> str:
    return "".join(e.delta for e in events if e.type == "response.output_text.delta")


def _closing_texts(events: list[Any]) -> list[str]:
    """The text each closing event repeats: output_text.done, content_part.done,
    output_item.done and the final response."""
    (done,) = [e for e in events if e.type == "response.output_text.done"]
    (part,) = [e for e in events if e.type == "response.content_part.done"]
    (item,) = [e for e in events if e.type == "response.output_item.done"]
    (completed,) = [e for e in events if e.type == "response.completed"]
    return [
        done.text,
        part.part.text,
        item.item.content[0].text,
        completed.response.output_text,
    ]


def test_a_secret_split_across_delta_events_is_redacted(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [SECRETS]})
    events = _events(gateway, f"{PRIVATE_KEY} thanks")
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    text = "".join(deltas)
    # The policy is on responses only: the key went up whole and came back a word per event.
    assert "BEGIN PRIVATE KEY" in str(received(sim)[-1]["input"])
    assert text.startswith("Simulated reply to: [SECRET_1] thanks")
    assert "MIIEvQ" not in text and "PRIVATE KEY" not in text
    assert _closing_texts(events) == [text] * 4
    # The stored response is what was streamed (nothing restored here).
    (created,) = [e for e in events if e.type == "response.created"]
    stored = _client(gateway).responses.retrieve(created.response.id)
    assert stored.output_text == text


def test_a_streamed_response_is_restored_and_stored_redacted(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [PII]})
    events = _events(gateway, f"mail {EMAIL} now")
    text = _streamed(events)
    assert received(sim)[-1]["input"] == "mail [EMAIL_1] now"
    assert f"mail {EMAIL} now" in text and "[EMAIL_1]" not in text
    assert _closing_texts(events) == [text] * 4
    # What the gateway keeps is what the model saw: the placeholder, not the address.
    (completed,) = [e for e in events if e.type == "response.completed"]
    stored = _client(gateway).responses.retrieve(completed.response.id)
    assert EMAIL not in stored.output_text
    assert stored.output_text == text.replace(EMAIL, "[EMAIL_1]")


def test_a_blocked_streamed_response_ends_with_an_error_event(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [{**DENY, "on": ["response"]}]})
    events = _events(gateway, "what about project falcon then")
    assert events[-1].type == "error"
    assert events[-1].code == "content_policy_violation"
    assert "deny_list" in events[-1].message
    # Numbered after every event before it, those whose text the guard held included.
    assert events[-1].sequence_number > max(e.sequence_number for e in events[:-1])
    assert "falcon" not in _streamed(events).lower()
    assert not [e for e in events if e.type.endswith(".done") or e.type == "response.completed"]
    # The answer went nowhere else either: nothing of it is stored.
    (created,) = [e for e in events if e.type == "response.created"]
    with pytest.raises(openai.NotFoundError):
        _client(gateway).responses.retrieve(created.response.id)
    assert len(received(sim)) == 1


def test_a_streamed_tool_call_passes_untouched(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [PII, SECRETS]})
    tool = {
        "type": "function",
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    }
    events = _events(gateway, f"Weather where {EMAIL} lives?", tools=[tool])
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    (completed,) = [e for e in events if e.type == "response.completed"]
    (call,) = completed.response.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.arguments == "".join(deltas) and "city" in call.arguments
