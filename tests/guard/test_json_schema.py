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
