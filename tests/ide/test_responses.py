"""`/v1/responses` through the official openai SDK: plain, streamed, a function tool round
trip, `previous_response_id`, stored responses per key; every body and event checked
against OpenAI's document. `llama` is served by a `vllm` backend: LiteLLM's bridge to chat."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import httpx
import openai
import pytest
import yaml

from tests.support import openapi
from tests.support.processes import Gateway

_WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.master_key, max_retries=0)


def new_key(gateway: Gateway, name: str) -> str:
    with gateway.client() as http:
        issued = http.post("/admin/keys", json={"name": name})
    assert issued.status_code == 201, issued.text
    secret: str = issued.json()["key"]
    return secret


def sim_inputs(sim: httpx.Client) -> list[Any]:
    return [r["body"] for r in sim.get("/_sim/requests").json()["requests"]]


@pytest.mark.parametrize("model", ["gpt-4o-mini", "llama"])
def test_plain_response(client: openai.OpenAI, model: str) -> None:
    raw = client.responses.with_raw_response.create(
        model=model, input="Tell me about tides", instructions="Be brief.", max_output_tokens=64
    )
    body = json.loads(raw.text)
    openapi.validate("Response", body)
    response = raw.parse()
    assert response.status == "completed" and response.object == "response"
    assert "Tell me about tides" in response.output_text
    assert response.usage is not None and response.usage.output_tokens == 12
    assert raw.headers["x-request-id"] and raw.headers["x-gateway-model"] == model


@pytest.mark.parametrize("model", ["m-streamy", "llama"])
def test_streamed_response_follows_openais_event_sequence(
    gateway: Gateway, client: openai.OpenAI, model: str
) -> None:
    with httpx.stream(
        "POST",
        f"{gateway.v1}/responses",
        headers={"authorization": f"Bearer {gateway.master_key}"},
        json={"model": model, "input": "Stream the tides", "stream": True},
        timeout=60,
    ) as raw:
        assert raw.status_code == 200
        events = _sse_events(raw.iter_lines())
    for event in events:
        openapi.validate("ResponseStreamEvent", event)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    assert "response.output_item.added" in kinds and "response.output_text.delta" in kinds
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert "Stream the tides" in text
    assert events[-1]["response"]["usage"]["output_tokens"] > 0
    numbers = [e["sequence_number"] for e in events]
    assert numbers == sorted(numbers)
    with client.responses.stream(model=model, input="Stream again") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "Stream again" in "".join(deltas) == final.output_text


def _sse_events(lines: Any) -> list[dict[str, Any]]:
    events = []
    for line in lines:
        if line.startswith("data:"):
            events.append(json.loads(line[5:]))
    return events


@pytest.mark.parametrize("model", ["gpt-4o-mini", "llama"])
def test_a_function_tool_round_trip(client: openai.OpenAI, model: str) -> None:
    raw = client.responses.with_raw_response.create(
        model=model, input="What is the weather in Paris?", tools=[_WEATHER]
    )
    openapi.validate("Response", json.loads(raw.text))
    first = raw.parse()
    calls = [item for item in first.output if item.type == "function_call"]
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert isinstance(json.loads(calls[0].arguments)["city"], str)
    raw = client.responses.with_raw_response.create(
        model=model,
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": calls[0].call_id, "output": "sunny"}],
        tools=[_WEATHER],
    )
    openapi.validate("Response", json.loads(raw.text))
    second = raw.parse()
    assert second.status == "completed"
    assert second.output[0].type == "message" and second.output_text
    assert second.previous_response_id == first.id


def test_previous_response_id_carries_the_conversation(
    client: openai.OpenAI, sim: httpx.Client
) -> None:
    first = client.responses.create(model="gpt-4o-mini", input="My name is Ada.")
    second = client.responses.create(
        model="gpt-4o-mini", previous_response_id=first.id, input="What is my name?"
    )
    assert second.previous_response_id == first.id
    sent = sim_inputs(sim)[-1]
    assert "previous_response_id" not in sent
    texts = json.dumps(sent["input"])
    # The earlier turn, its answer and the new question, in that order.
    assert (
        texts.index("My name is Ada.")
        < texts.index(first.output_text)
        < texts.index("What is my name?")
    )


def test_a_stored_response_is_read_and_deleted_by_its_key_only(gateway: Gateway) -> None:
    owner = openai.OpenAI(base_url=gateway.v1, api_key=new_key(gateway, "a"), max_retries=0)
    other = openai.OpenAI(base_url=gateway.v1, api_key=new_key(gateway, "b"), max_retries=0)
    master = openai.OpenAI(base_url=gateway.v1, api_key=gateway.master_key, max_retries=0)
    created = owner.responses.create(model="gpt-4o-mini", input="Remember this")
    fetched = owner.responses.with_raw_response.retrieve(created.id)
    openapi.validate("Response", json.loads(fetched.text))
    assert fetched.parse().output_text == created.output_text
    for stranger in (other, master):
        with pytest.raises(openai.NotFoundError) as raised:
            stranger.responses.retrieve(created.id)
        openapi.validate("ErrorResponse", raised.value.body and {"error": raised.value.body})
        with pytest.raises(openai.NotFoundError):
            stranger.responses.delete(created.id)
        with pytest.raises(openai.BadRequestError) as refused:
            stranger.responses.create(
                model="gpt-4o-mini", previous_response_id=created.id, input="Steal it"
            )
        assert refused.value.param == "previous_response_id"
    owner.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        owner.responses.retrieve(created.id)


def test_stored_responses_reach_the_database_in_batches(
    gateway: Gateway, client: openai.OpenAI
) -> None:
    """Written behind the answers: every one is in the database soon, a deleted one is not."""
    created = [client.responses.create(model="gpt-4o-mini", input=f"Note {n}") for n in range(30)]
    client.responses.delete(created[0].id)
    ids = {response.id for response in created[1:]}
    database = yaml.safe_load(gateway.config_path.read_text())["database"]["url"]
    path = database.removeprefix("sqlite+aiosqlite:///")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(path) as connection:
            rows = {row[0] for row in connection.execute("SELECT id FROM stored_responses")}
        if ids <= rows:
            break
        time.sleep(0.1)
    assert ids <= rows
    assert created[0].id not in rows
    assert client.responses.retrieve(created[7].id).output_text == created[7].output_text


def test_store_false_keeps_nothing(client: openai.OpenAI) -> None:
    created = client.responses.create(model="gpt-4o-mini", input="Forget this", store=False)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(created.id)


def test_a_streamed_response_is_stored_when_it_completes(client: openai.OpenAI) -> None:
    with client.responses.stream(model="m-streamy", input="Keep the stream") as stream:
        final = stream.get_final_response()
    assert client.responses.retrieve(final.id).output_text == final.output_text


def test_text_format_json_schema(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
        "required": ["city", "days"],
        "additionalProperties": False,
    }
    response = client.responses.create(
        model="gpt-4o-mini",
        input="Plan a trip",
        text={"format": {"type": "json_schema", "name": "trip", "schema": schema, "strict": True}},
    )
    value = json.loads(response.output_text)
    assert isinstance(value["city"], str) and isinstance(value["days"], int)


def test_bad_requests_get_clear_400s(gateway: Gateway) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": "gpt-4o-mini"}, "input"),
        ({"model": "gpt-4o-mini", "input": 7}, "input"),
        (
            {"model": "gpt-4o-mini", "input": "x", "previous_response_id": "resp_nope"},
            "previous_response_id",
        ),
        ({"model": "gpt-4o-mini", "input": "x", "background": True}, "background"),
        ({"model": "gpt-4o-mini", "input": "x", "api_base": "http://127.0.0.1:1"}, "api_base"),
        # Built-in tools run at OpenAI: a model behind LiteLLM's bridge cannot.
        ({"model": "llama", "input": "x", "tools": [{"type": "web_search"}]}, "web_search"),
    ]
    with gateway.client() as http:
        for body, named in cases:
            response = http.post("/v1/responses", json=body)
            assert response.status_code == 400, (body, response.text)
            error = response.json()
            openapi.validate("ErrorResponse", error)
            assert named in (error["error"]["param"] or "") + error["error"]["message"], error
