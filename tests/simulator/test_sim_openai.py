"""The OpenAI wire format, through the official SDK and raw HTTP, against OpenAI's schemas."""

from __future__ import annotations

import base64
import json
import math
import struct
import time
from collections.abc import Callable
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from tests.simulator.conftest import sse_events

Validate = Callable[[str, Any], None]
HELLO = [{"role": "user", "content": "Hello there, simulator of many models"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer", "minimum": 1},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "days", "unit"],
        },
    },
}


@pytest.fixture
def client(sim_url: str, sim: httpx.Client) -> openai.OpenAI:
    return openai.OpenAI(base_url=sim_url + "/v1", api_key="sk-test", max_retries=0)


def test_completion_quotes_the_prompt_and_counts_tokens(
    client: openai.OpenAI, sim: httpx.Client, openapi: Validate
) -> None:
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    assert result.model == "gpt-4o-mini"
    assert result.object == "chat.completion"
    content = result.choices[0].message.content
    assert content is not None
    assert content.startswith("Simulated reply to: Hello there, simulator of many models")
    assert result.choices[0].finish_reason == "stop"
    assert result.usage is not None
    assert result.usage.completion_tokens == 12
    assert result.usage.prompt_tokens > 5
    assert result.usage.total_tokens == result.usage.prompt_tokens + 12

    raw = sim.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": HELLO})
    body = raw.json()
    openapi("CreateChatCompletionResponse", body)
    assert body["choices"][0]["message"]["content"] == content
    assert body["choices"][0]["message"]["refusal"] is None
    assert body["choices"][0]["logprobs"] is None
    assert body["system_fingerprint"]
    assert raw.headers["x-sim-instance"] == "sim-test"


def test_stream_matches_the_whole_answer_and_ends_with_usage(
    client: openai.OpenAI, sim: httpx.Client, openapi: Validate
) -> None:
    whole = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO)
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=HELLO,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    finishing = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finishing] == ["stop"]
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 12

    body = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True}
    body["stream_options"] = {"include_usage": True}
    raw = sim.post("/v1/chat/completions", json=body)
    assert raw.headers["content-type"].startswith("text/event-stream")
    events = sse_events(raw.text)
    assert events[-1] == (None, "[DONE]")
    for _, data in events[:-1]:
        openapi("CreateChatCompletionStreamResponse", json.loads(data))


def test_stream_without_usage_option_has_no_usage_chunk(sim: httpx.Client) -> None:
    body = {"model": "gpt-4o-mini", "messages": HELLO, "stream": True}
    events = sse_events(sim.post("/v1/chat/completions", json=body).text)
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert all(chunk["choices"] for chunk in chunks)
    assert all("usage" not in chunk for chunk in chunks)


def test_a_late_closing_stream_ends_its_body_after_its_last_event(sim: httpx.Client) -> None:
    body = {"model": "late-close", "messages": HELLO, "stream": True}
    with sim.stream("POST", "/v1/chat/completions", json=body) as response:
        received = b""
        started = time.monotonic()
        for piece in response.iter_raw():
            received += piece
            if received.endswith(b"data: [DONE]\n\n"):
                done_s = time.monotonic() - started
        ended_s = time.monotonic() - started
    assert sse_events(received.decode())[-1] == (None, "[DONE]")
    assert done_s < 0.3 <= ended_s - done_s


def test_paced_model_streams_every_token(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(model="paced", messages=HELLO, stream=True)
    deltas = [
        c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content
    ]
    assert len(deltas) == 6


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_caps_the_answer(client: openai.OpenAI, field: str) -> None:
    extra: dict[str, Any] = {field: 4}
    result = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, **extra)
    assert result.choices[0].finish_reason == "length"
    assert result.usage is not None
    assert result.usage.completion_tokens == 4
    assert result.choices[0].message.content == "Simulated reply to: Hello"


def test_token_header_sets_the_answer_length(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="unknown-model", messages=HELLO, extra_headers={"x-sim-tokens": "40"}
    )
    assert result.usage is not None
    assert result.usage.completion_tokens == 40
    assert result.model == "unknown-model"


def test_tool_call_has_valid_arguments_for_the_first_tool(
    client: openai.OpenAI, sim: httpx.Client, openapi: Validate
) -> None:
    result = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=[WEATHER_TOOL])
    choice = result.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    arguments = json.loads(call.function.arguments)
    jsonschema.validate(arguments, WEATHER_TOOL["function"]["parameters"])  # type: ignore[index]

    raw = sim.post(
        "/v1/chat/completions", json={"model": "gpt-4o", "messages": HELLO, "tools": [WEATHER_TOOL]}
    )
    openapi("CreateChatCompletionResponse", raw.json())


def test_streamed_tool_call_assembles_to_the_same_arguments(
    client: openai.OpenAI, sim: httpx.Client, openapi: Validate
) -> None:
    whole = client.chat.completions.create(model="gpt-4o", messages=HELLO, tools=[WEATHER_TOOL])
    stream = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, tools=[WEATHER_TOOL], stream=True
    )
    arguments = ""
    names = []
    finish = None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for delta in choice.delta.tool_calls or []:
            assert delta.index == 0
            if delta.function and delta.function.name:
                names.append(delta.function.name)
            arguments += (delta.function.arguments if delta.function else None) or ""
    assert names == ["get_weather"]
    assert finish == "tool_calls"
    assert whole.choices[0].message.tool_calls is not None
    assert json.loads(arguments) == json.loads(
        whole.choices[0].message.tool_calls[0].function.arguments
    )

    body = {"model": "gpt-4o", "messages": HELLO, "tools": [WEATHER_TOOL], "stream": True}
    for _, data in sse_events(sim.post("/v1/chat/completions", json=body).text)[:-1]:
        openapi("CreateChatCompletionStreamResponse", json.loads(data))


def test_no_tool_call_when_told_not_or_after_a_tool_result(client: openai.OpenAI) -> None:
    refused = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, tools=[WEATHER_TOOL], tool_choice="none"
    )
    assert refused.choices[0].message.tool_calls is None
    after = client.chat.completions.create(
        model="gpt-4o",
        tools=[WEATHER_TOOL],
        messages=[
            *HELLO,
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
        ],
    )
    assert after.choices[0].finish_reason == "stop"
    assert after.choices[0].message.content


def test_json_object_format_gives_json(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="gpt-4o", messages=HELLO, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(result.choices[0].message.content or ""), dict)


def test_json_schema_format_gives_a_valid_instance(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "kind": {"anyOf": [{"$ref": "#/$defs/kind"}, {"type": "null"}]},
        },
        "required": ["title", "tags", "score", "kind"],
        "additionalProperties": False,
        "$defs": {"kind": {"type": "string", "enum": ["a", "b"]}},
    }
    stream = client.chat.completions.create(
        model="gpt-4o",
        messages=HELLO,
        stream=True,
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "doc", "schema": schema, "strict": True},
        },
    )
    content = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    jsonschema.validate(json.loads(content), schema)


def test_embeddings_are_deterministic_unit_vectors(
    client: openai.OpenAI, sim: httpx.Client, openapi: Validate
) -> None:
    first = client.embeddings.create(model="text-embedding-3-small", input=["a cat", "a dog"])
    again = client.embeddings.create(model="text-embedding-3-small", input="a cat")
    assert len(first.data) == 2
    assert len(first.data[0].embedding) == 1536
    assert first.data[0].embedding == again.data[0].embedding
    assert first.data[0].embedding != first.data[1].embedding
    assert math.isclose(math.fsum(v * v for v in first.data[0].embedding), 1.0, rel_tol=1e-9)
    assert first.usage.prompt_tokens > 0

    short = client.embeddings.create(model="text-embedding-3-small", input="a cat", dimensions=64)
    assert len(short.data[0].embedding) == 64

    body = {"model": "text-embedding-3-small", "input": "a cat", "dimensions": 64}
    as_floats = sim.post("/v1/embeddings", json=body).json()
    openapi("CreateEmbeddingResponse", as_floats)
    encoded = sim.post("/v1/embeddings", json={**body, "encoding_format": "base64"}).json()
    decoded = struct.unpack("<64f", base64.b64decode(encoded["data"][0]["embedding"]))
    expected = as_floats["data"][0]["embedding"]
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(decoded, expected, strict=True))


def test_embeddings_accept_token_arrays(sim: httpx.Client) -> None:
    body = {"model": "text-embedding-3-small", "input": [[1, 2, 3], [4, 5]], "dimensions": 8}
    result = sim.post("/v1/embeddings", json=body).json()
    assert [len(d["embedding"]) for d in result["data"]] == [8, 8]
    assert result["usage"]["prompt_tokens"] == 5


def test_models_lists_the_configured_models(
    client: openai.OpenAI, sim: httpx.Client, openapi: Validate
) -> None:
    names = [model.id for model in client.models.list()]
    assert "gpt-4o-mini" in names
    assert "flaky-5xx" in names
    openapi("ListModelsResponse", sim.get("/v1/models").json())


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'{"messages": [{"role": "user", "content": "x"}]}',
        b'{"model": "gpt-4o", "messages": []}',
        b'{"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}',
    ],
)
def test_bad_requests_get_openai_errors(sim: httpx.Client, openapi: Validate, body: bytes) -> None:
    response = sim.post("/v1/chat/completions", content=body)
    assert response.status_code == 400
    openapi("ErrorResponse", response.json())
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_paths_and_methods(sim: httpx.Client, openapi: Validate) -> None:
    missing = sim.get("/v1/nothing")
    assert missing.status_code == 404
    openapi("ErrorResponse", missing.json())
    assert sim.get("/v1/chat/completions").status_code == 405
    assert missing.headers["x-sim-instance"] == "sim-test"


def test_health(sim: httpx.Client) -> None:
    response = sim.get("/health")
    assert response.status_code == 200
    assert response.headers["x-sim-instance"] == "sim-test"


def test_the_schema_check_has_teeth(openapi: Validate) -> None:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": {}, "finish_reason": None}],
    }
    openapi("CreateChatCompletionStreamResponse", chunk)
    chunk["choices"][0]["finish_reason"] = "bogus"  # type: ignore[index]
    with pytest.raises(jsonschema.ValidationError):
        openapi("CreateChatCompletionStreamResponse", chunk)
    with pytest.raises(jsonschema.ValidationError):
        openapi("CreateChatCompletionResponse", {"id": "x", "object": "chat.completion"})
