"""The OpenAI surface through the official `openai` SDK, checked against OpenAI's schemas."""

from __future__ import annotations

import json
import re
import time

import httpx
import openai
import pytest

from tests.support import openapi
from tests.support.processes import Gateway


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.master_key, max_retries=0)


def test_chat_completion(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Name a prime number"}]
    )
    completion = raw.parse()
    assert "Name a prime number" in (completion.choices[0].message.content or "")
    assert completion.usage is not None and completion.usage.completion_tokens == 12
    assert raw.headers["x-gateway-provider"] == "simulator"
    assert raw.headers["x-gateway-deployment"] in ("mini-a", "mini-b")
    assert raw.headers["x-request-id"].startswith("req_")
    assert float(raw.headers["x-gateway-overhead-ms"]) >= 0
    openapi.validate("CreateChatCompletionResponse", json.loads(raw.text))


def test_request_ids_are_unique_and_sort_by_time(client: openai.OpenAI) -> None:
    ids = []
    for _ in range(5):
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
        ids.append(raw.headers["x-request-id"])
        time.sleep(0.002)  # ids of one millisecond order by their random part
    assert all(re.fullmatch(r"req_[0-9a-f]{32}", request_id) for request_id in ids)
    assert sorted(ids) == ids and len(set(ids)) == 5


def test_alias_resolves_to_its_model(client: openai.OpenAI) -> None:
    raw = client.chat.completions.with_raw_response.create(
        model="fast", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"


def test_streaming_with_usage_in_the_last_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="m-streamy",
        messages=[{"role": "user", "content": "Count to three"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Count to three" in text
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 20
    for chunk in chunks:
        openapi.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))


def test_streaming_without_usage_carries_none(client: openai.OpenAI) -> None:
    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    assert all(c.choices for c in chunks), "usage-only chunk sent though the client did not ask"
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_tools_and_tool_choice_pass_through(client: openai.OpenAI) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Weather in Paris?"}],
        tools=[tool],  # type: ignore[list-item]
        tool_choice="auto",
    )
    calls = completion.choices[0].message.tool_calls
    assert calls and calls[0].function.name == "get_weather"  # type: ignore[union-attr]
    json.loads(calls[0].function.arguments)  # type: ignore[union-attr]


def test_response_format_passes_through(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Give me JSON"}],
        response_format={"type": "json_object"},
    )
    assert isinstance(json.loads(completion.choices[0].message.content or ""), dict)


def test_embeddings(client: openai.OpenAI, gateway: Gateway) -> None:
    result = client.embeddings.create(model="text-embedding-3-small", input=["a", "b"])
    assert [e.index for e in result.data] == [0, 1]
    assert len(result.data[0].embedding) == 1536
    with gateway.client() as http:
        body = http.post(
            "/v1/embeddings", json={"model": "text-embedding-3-small", "input": "x"}
        ).json()
    openapi.validate("CreateEmbeddingResponse", body)


def test_models_list(client: openai.OpenAI, gateway: Gateway) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini", "text-embedding-3-small", "fast", "claude-3-5-haiku-latest"} <= ids
    with gateway.client() as http:
        openapi.validate("ListModelsResponse", http.get("/v1/models").json())


def test_openai_client_reaches_an_anthropic_backend(client: openai.OpenAI) -> None:
    """OpenAI format in, LiteLLM translates to Anthropic's Messages API and back."""
    raw = client.chat.completions.with_raw_response.create(
        model="claude-3-5-haiku-latest", messages=[{"role": "user", "content": "Bonjour"}]
    )
    completion = raw.parse()
    assert "Bonjour" in (completion.choices[0].message.content or "")
    assert raw.headers["x-gateway-provider"] == "anthropic"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "empty"),
        (
            b'{"messages": [{"role": "user", "content": "x"}]}',
            "Missing required parameter: 'model'",
        ),
        (b'{"model": 5, "messages": []}', "'model'"),
        (b'{"model": "gpt-4o-mini"}', "'messages'"),
        (b'{"model": "gpt-4o-mini", "messages": "hi"}', "'messages'"),
        (b'{"model": "gpt-4o-mini", "messages": [{"content": "x"}]}', "messages[0]"),
        (b'{"model": "gpt-4o-mini", "messages": [{"role": "user"}], "stream": "yes"}', "'stream'"),
    ],
)
def test_malformed_bodies_get_400_in_openai_shape(
    gateway: Gateway, body: bytes, message: str
) -> None:
    with gateway.client() as http:
        response = http.post(
            "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    error = response.json()
    openapi.validate("ErrorResponse", error)
    assert error["error"]["type"] == "invalid_request_error"
    assert message in error["error"]["message"]


def test_unknown_model_is_404_model_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert caught.value.code == "model_not_found"


def test_missing_or_wrong_key_is_401(gateway: Gateway) -> None:
    bad = openai.OpenAI(base_url=gateway.v1, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}]
        )
    response = httpx.post(f"{gateway.v1}/chat/completions", json={})
    assert response.status_code == 401
    openapi.validate("ErrorResponse", response.json())


def test_oversized_body_is_413(gateway: Gateway) -> None:
    with gateway.client() as http:
        response = http.post(
            "/v1/chat/completions",
            content=b"x" * (9 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_unknown_path_is_404_in_openai_shape(gateway: Gateway) -> None:
    with gateway.client() as http:
        response = http.get("/v1/nothing-here")
    assert response.status_code == 404
    openapi.validate("ErrorResponse", response.json())
