"""The json_schema check through the official openai SDK: an answer that is not the JSON its
request's `response_format` asked for is withheld (a stream ends with an error event).

The simulator answers a `response_format` with JSON that fits it; its scripted `bad_json`
fault (`POST /_sim/faults`) makes it answer prose instead.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.guard.conftest import MODEL, configure
from tests.support import openapi
from tests.support.processes import Gateway

SCHEMA: Any = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
POLICY = {"name": "schema", "on": ["response"], "checks": {"json_schema": {"action": "block"}}}
ASK = [{"role": "user", "content": "Which city is the capital of France?"}]


def _client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)


def _spoil_next(sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "bad_json", "model": MODEL}).raise_for_status()


def test_an_answer_that_fails_its_schema_is_withheld(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [POLICY]})
    client = _client(gateway)
    fitting = client.chat.completions.create(model=MODEL, messages=ASK, response_format=SCHEMA)
    assert "city" in json.loads(fitting.choices[0].message.content or "")
    _spoil_next(sim)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model=MODEL, messages=ASK, response_format=SCHEMA)
    assert refused.value.code == "content_policy_violation"
    assert "json_schema" in refused.value.message
    assert refused.value.response.headers["x-gateway-guardrails"] == (
        "response/json_schema.invalid=block:1"
    )
    # A request that asked for no format is not checked, whatever its answer is.
    _spoil_next(sim)
    assert client.chat.completions.create(model=MODEL, messages=ASK).choices[0].message.content


def test_a_streamed_answer_that_fails_its_schema_ends_with_an_error(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [POLICY]})
    _spoil_next(sim)
    stream = _client(gateway).chat.completions.create(
        model=MODEL, messages=ASK, response_format=SCHEMA, stream=True
    )
    with pytest.raises(openai.APIError) as ended:
        for _ in stream:
            pass
    assert "json_schema" in ended.value.message


# The Responses API asks with `text.format`, the schema beside its type.
TEXT_FORMAT: Any = {"format": {"type": "json_schema", "name": "city", **SCHEMA["json_schema"]}}
QUESTION = "Which city is the capital of France?"


def test_a_response_whose_output_text_fails_its_text_format_is_withheld(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [POLICY]})
    client = _client(gateway)
    fitting = client.responses.create(model=MODEL, input=QUESTION, text=TEXT_FORMAT)
    assert "city" in json.loads(fitting.output_text)
    _spoil_next(sim)
    with pytest.raises(openai.BadRequestError) as refused:
        client.responses.create(model=MODEL, input=QUESTION, text=TEXT_FORMAT)
    assert refused.value.code == "content_policy_violation"
    assert refused.value.response.headers["x-gateway-guardrails"] == (
        "response/json_schema.invalid=block:1"
    )
    # A plain-text format asks for no JSON: prose passes.
    _spoil_next(sim)
    plain = client.responses.create(model=MODEL, input=QUESTION, text={"format": {"type": "text"}})
    assert plain.output_text.startswith("Sure!")


def test_a_streamed_response_that_fails_its_text_format_ends_with_an_error_event(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [POLICY]})
    client = _client(gateway)
    fitting = list(
        client.responses.create(model=MODEL, input=QUESTION, text=TEXT_FORMAT, stream=True)
    )
    assert fitting[-1].type == "response.completed"
    assert "city" in json.loads(fitting[-1].response.output_text)
    _spoil_next(sim)
    events = list(
        client.responses.create(model=MODEL, input=QUESTION, text=TEXT_FORMAT, stream=True)
    )
    for event in events:
        openapi.validate("ResponseStreamEvent", event.to_dict())
    assert events[-1].type == "error"
    assert events[-1].code == "content_policy_violation"
    assert "json_schema" in events[-1].message
    assert not [e for e in events if e.type == "response.completed"]
    # The answer that failed is not kept.
    (created,) = [e for e in events if e.type == "response.created"]
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.response.id)
