"""`/v1/completions` through the official openai SDK: fill-in-the-middle, echo, logprobs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from tests.support import openapi
from tests.support.processes import Gateway


@pytest.fixture
def client(gateway: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=gateway.master_key, max_retries=0)


def test_fill_in_the_middle(client: openai.OpenAI) -> None:
    raw = client.completions.with_raw_response.create(
        model="gpt-4o-mini",
        prompt="def add(a, b):\n    total =",
        suffix="\n    return total",
        max_tokens=10,
    )
    openapi.validate("CreateCompletionResponse", json.loads(raw.text))
    completion = raw.parse()
    assert completion.object == "text_completion"
    text = completion.choices[0].text
    # The middle is written for both sides: the prompt's end and the suffix's start.
    assert "total =" in text and "return total" in text
    assert completion.choices[0].finish_reason == "length"
    assert completion.usage is not None and completion.usage.completion_tokens == 10
    assert raw.headers["x-gateway-provider"] == "simulator"


def test_fill_in_the_middle_streamed(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model="m-streamy",
        prompt="for item in items:",
        suffix="print(done)",
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    for chunk in chunks:
        openapi.validate(
            "CreateCompletionResponse", _as_documented(chunk.model_dump(exclude_unset=True))
        )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert "items:" in text and "print(done)" in text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 12


def test_echo_logprobs_stop_and_n(client: openai.OpenAI) -> None:
    completion = client.completions.create(
        model="gpt-4o-mini", prompt="Say hello", echo=True, logprobs=2, n=2, max_tokens=8
    )
    assert [c.index for c in completion.choices] == [0, 1]
    first = completion.choices[0]
    assert first.text.startswith("Say hello")
    assert first.logprobs is not None and len(first.logprobs.tokens or []) == 8
    assert all(len(top) == 2 for top in first.logprobs.top_logprobs or [])
    stopped = client.completions.create(
        model="gpt-4o-mini", prompt="Say hello", stop=[" hello"], max_tokens=8
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert " hello" not in stopped.choices[0].text


def test_a_model_without_text_completions_gets_400_naming_it(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.v1}/completions",
        headers={"authorization": f"Bearer {gateway.master_key}"},
        json={"model": "claude-3-5-haiku-latest", "prompt": "x", "suffix": "y"},
    )
    assert response.status_code == 400
    error = response.json()
    openapi.validate("ErrorResponse", error)
    assert "claude-3-5-haiku-latest" in error["error"]["message"]
    assert "/v1/completions" in error["error"]["message"]


def test_a_bad_prompt_gets_400(gateway: Gateway) -> None:
    response = httpx.post(
        f"{gateway.v1}/completions",
        headers={"authorization": f"Bearer {gateway.master_key}"},
        json={"model": "gpt-4o-mini", "prompt": {"not": "text"}},
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "prompt"


def _as_documented(chunk: dict[str, Any]) -> dict[str, Any]:
    """The document gives streamed chunks the whole object's shape, where `finish_reason` is
    a string; OpenAI (and vLLM) send null until the last chunk, and so does the simulator.
    Only that one field is set aside; everything else is checked as documented."""
    choices = [
        {**choice, "finish_reason": choice["finish_reason"] or "length"}
        for choice in chunk["choices"]
    ]
    return {**chunk, "choices": choices}
