"""`/v1/messages/count_tokens` through the official anthropic SDK, and Anthropic's error
shape on every `/v1/messages*` path, unknown paths and wrong methods included."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.support.processes import Gateway

_MESSAGES = [{"role": "user", "content": "How many tokens is this sentence, roughly?"}]
_TOOLS = [
    {
        "name": "get_weather",
        "description": "The weather in a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
    }
]


@pytest.fixture
def client(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.master_key, max_retries=0)


def test_an_anthropic_backend_counts_for_itself(
    client: anthropic.Anthropic, sim: httpx.Client
) -> None:
    counted = client.messages.count_tokens(
        model="claude-3-5-haiku-latest", system="Be brief.", messages=_MESSAGES, tools=_TOOLS
    )
    created = client.messages.create(
        model="claude-3-5-haiku-latest",
        max_tokens=16,
        system="Be brief.",
        messages=_MESSAGES,
        tools=_TOOLS,
        tool_choice={"type": "none"},
    )
    # The provider's own count: the same number its answer is billed for.
    assert counted.input_tokens == created.usage.input_tokens > 0
    paths = [r["path"] for r in sim.get("/_sim/requests").json()["requests"]]
    assert "/v1/messages/count_tokens" in paths


def test_other_models_are_counted_by_the_gateway(
    client: anthropic.Anthropic, sim: httpx.Client
) -> None:
    short = client.messages.count_tokens(model="gpt-4o-mini", messages=_MESSAGES)
    longer = client.messages.count_tokens(model="gpt-4o-mini", messages=_MESSAGES, tools=_TOOLS)
    assert 0 < short.input_tokens < longer.input_tokens
    assert sim.get("/_sim/requests").json()["requests"] == []


def test_count_tokens_errors_are_anthropic_shaped(gateway: Gateway) -> None:
    unknown = anthropic.Anthropic(base_url=gateway.url, api_key=gateway.master_key, max_retries=0)
    with pytest.raises(anthropic.NotFoundError) as raised:
        unknown.messages.count_tokens(model="no-such-model", messages=_MESSAGES)
    assert raised.value.body == {
        "type": "error",
        "error": {"type": "not_found_error", "message": raised.value.body["error"]["message"]},
    }
    stranger = anthropic.Anthropic(base_url=gateway.url, api_key="sk-gw-nobody", max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        stranger.messages.count_tokens(model="gpt-4o-mini", messages=_MESSAGES)


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [
        ("POST", "/v1/messages/no-such-thing", 404, "not_found_error"),
        ("GET", "/v1/messages/batches/msgbatch_1", 404, "not_found_error"),
        ("GET", "/v1/messages", 405, "invalid_request_error"),
        ("GET", "/v1/messages/count_tokens", 405, "invalid_request_error"),
    ],
)
def test_every_messages_path_answers_in_anthropic_shape(
    gateway: Gateway, method: str, path: str, status: int, kind: str
) -> None:
    response = httpx.request(
        method, f"{gateway.url}{path}", headers={"x-api-key": gateway.master_key}
    )
    assert response.status_code == status
    body = response.json()
    assert body["type"] == "error" and body["error"]["type"] == kind
    assert body["error"]["message"]


def test_the_sdk_reads_a_404_on_an_unknown_messages_path(client: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as raised:
        client.get("/v1/messages/no-such-thing", cast_to=object)
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == "not_found_error"
