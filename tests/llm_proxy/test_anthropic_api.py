"""Anthropic's Messages API through the official `anthropic` SDK, to any backend."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from tests.support.processes import Gateway


@pytest.fixture
def client(gateway: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=gateway.master_key, max_retries=0)


def test_messages_to_an_openai_format_backend(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model="gpt-4o-mini", max_tokens=64, messages=[{"role": "user", "content": "Ahoy there"}]
    )
    message = raw.parse()
    assert message.type == "message" and message.role == "assistant"
    assert message.content[0].type == "text" and "Ahoy there" in message.content[0].text
    assert message.usage.output_tokens == 12
    assert raw.headers["x-gateway-provider"] == "simulator"


def test_streamed_messages_from_an_openai_format_backend(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model="m-streamy", max_tokens=64, messages=[{"role": "user", "content": "Stream me"}]
    ) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_message()
    assert kinds[0] == "message_start" and kinds[-1] == "message_stop"
    assert "content_block_delta" in kinds
    assert final.content[0].type == "text" and "Stream me" in final.content[0].text


def test_messages_to_an_anthropic_backend_pass_through(client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model="claude-3-5-haiku-latest",
        max_tokens=64,
        messages=[{"role": "user", "content": "Native call"}],
    )
    message = raw.parse()
    assert raw.headers["x-gateway-provider"] == "anthropic"
    assert message.content[0].type == "text" and "Native call" in message.content[0].text
    with client.messages.stream(
        model="claude-3-5-haiku-latest",
        max_tokens=64,
        messages=[{"role": "user", "content": "Native stream"}],
    ) as stream:
        text = "".join(stream.text_stream)
    assert "Native stream" in text


def test_errors_come_in_anthropic_shape(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.url}/v1/messages",
        headers={"x-api-key": gateway.master_key},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in body["error"]["message"]
    unauthorized = httpx.post(f"{gateway.url}/v1/messages", json={})
    assert unauthorized.status_code == 401
    assert unauthorized.json()["error"]["type"] == "authentication_error"
