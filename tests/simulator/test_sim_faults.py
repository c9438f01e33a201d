"""Every fault, by request header, by scripted queue and by configured rate."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

Validate = Callable[[str, Any], None]
HELLO = [{"role": "user", "content": "Hello"}]


def chat(model: str = "gpt-4o-mini", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": HELLO, **extra}


def read_stream(sim: httpx.Client, body: dict[str, Any], **kwargs: Any) -> tuple[list[str], bool]:
    """The data lines received, and whether the connection broke before the end."""
    lines: list[str] = []
    try:
        with sim.stream("POST", "/v1/chat/completions", json=body, **kwargs) as response:
            assert response.status_code == 200
            lines.extend(line[6:] for line in response.iter_lines() if line.startswith("data: "))
    except httpx.RemoteProtocolError:
        return lines, True
    return lines, False


@pytest.mark.parametrize("status", [500, 502, 503])
def test_header_5xx(sim_url: str, sim: httpx.Client, openapi: Validate, status: int) -> None:
    client = openai.OpenAI(base_url=sim_url + "/v1", api_key="sk-test", max_retries=0)
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=HELLO,  # type: ignore[arg-type]
            extra_headers={"x-sim-fault": str(status)},
        )
    assert caught.value.status_code == status
    openapi("ErrorResponse", caught.value.response.json())
    assert caught.value.response.json()["error"]["type"] == "server_error"


def test_header_429_carries_retry_after_and_rate_limit_headers(
    sim: httpx.Client, openapi: Validate
) -> None:
    headers = {"x-sim-fault": "429", "x-sim-retry-after": "7"}
    response = sim.post("/v1/chat/completions", json=chat(), headers=headers)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert response.headers["x-ratelimit-reset-requests"] == "7s"
    assert response.headers["x-ratelimit-limit-tokens"]
    openapi("ErrorResponse", response.json())
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_header_timeout_hangs_until_the_client_gives_up(sim: httpx.Client) -> None:
    with pytest.raises(httpx.ReadTimeout):
        sim.post(
            "/v1/chat/completions", json=chat(), headers={"x-sim-fault": "timeout"}, timeout=0.3
        )
    # The simulator stops hanging once the client has gone; it notices asynchronously.
    deadline = time.monotonic() + 10
    while sim.get("/_sim/stats").json()["by_status"] != {"499": 1}:
        assert time.monotonic() < deadline, "the hang outlived its client"
        time.sleep(0.02)


def test_configured_timeout_ends_in_504(sim: httpx.Client, openapi: Validate) -> None:
    response = sim.post("/v1/chat/completions", json=chat("flaky-timeout"))
    assert response.status_code == 504
    openapi("ErrorResponse", response.json())


def test_header_cut_drops_a_stream_without_done(sim: httpx.Client) -> None:
    body = chat(stream=True)
    lines, broken = read_stream(sim, body, headers={"x-sim-fault": "cut"})
    assert broken
    assert lines
    assert "[DONE]" not in lines
    for line in lines:
        json.loads(line)


def test_header_cut_drops_a_whole_body(sim: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        sim.post("/v1/chat/completions", json=chat(), headers={"x-sim-fault": "cut"})


def test_header_malformed_whole_and_streamed(sim: httpx.Client) -> None:
    response = sim.post("/v1/chat/completions", json=chat(), headers={"x-sim-fault": "malformed"})
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)

    lines, broken = read_stream(sim, chat(stream=True), headers={"x-sim-fault": "malformed"})
    assert not broken
    assert lines[-1] == "[DONE]"
    bad = []
    for line in lines[:-1]:
        try:
            json.loads(line)
        except json.JSONDecodeError:
            bad.append(line)
    assert len(bad) == 1


def test_unknown_fault_header_is_a_bad_request(sim: httpx.Client) -> None:
    response = sim.post("/v1/chat/completions", json=chat(), headers={"x-sim-fault": "explode"})
    assert response.status_code == 400


def test_configured_rates(sim: httpx.Client) -> None:
    assert sim.post("/v1/chat/completions", json=chat("flaky-5xx")).status_code in (500, 502, 503)
    limited = sim.post("/v1/chat/completions", json=chat("flaky-429"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "2"
    assert read_stream(sim, chat("flaky-cut", stream=True))[1]
    lines, _ = read_stream(sim, chat("flaky-malformed", stream=True))
    assert lines[-1] == "[DONE]"
    malformed = sim.post("/v1/embeddings", json={"model": "flaky-malformed", "input": "x"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.text)


def test_scripted_queue_fails_the_next_n_then_recovers(sim: httpx.Client) -> None:
    queued = sim.post("/_sim/faults", json={"fault": "500", "count": 2, "model": None})
    assert queued.status_code == 201
    statuses = [sim.post("/v1/chat/completions", json=chat()).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


def test_scripted_queue_per_model_and_retry_after(sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "429", "count": 1, "model": "gpt-4o", "retry_after": 4})
    assert sim.post("/v1/chat/completions", json=chat("gpt-4o-mini")).status_code == 200
    limited = sim.post("/v1/chat/completions", json=chat("gpt-4o"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "4"
    assert sim.post("/v1/chat/completions", json=chat("gpt-4o")).status_code == 200


def test_scripted_queue_keeps_order_and_covers_streams(sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "cut"})
    sim.post("/_sim/faults", json={"fault": "503"})
    assert read_stream(sim, chat(stream=True))[1]
    assert sim.post("/v1/messages", json={**chat(), "max_tokens": 10}).status_code == 503
    assert sim.post("/v1/chat/completions", json=chat()).status_code == 200


def test_header_wins_over_the_queue(sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "500"})
    headers = {"x-sim-fault": "502"}
    assert sim.post("/v1/chat/completions", json=chat(), headers=headers).status_code == 502
    assert sim.post("/v1/chat/completions", json=chat()).status_code == 500


def test_clearing_the_queue(sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "500", "count": 5})
    assert len(sim.get("/_sim/faults").json()["queued"]) == 1
    assert sim.delete("/_sim/faults").status_code == 200
    assert sim.post("/v1/chat/completions", json=chat()).status_code == 200


@pytest.mark.parametrize(
    "spec", [{"fault": "boom"}, {"fault": "500", "count": 0}, {"fault": "200"}, {"model": "x"}]
)
def test_bad_fault_scripts_are_rejected(sim: httpx.Client, spec: dict[str, Any]) -> None:
    assert sim.post("/_sim/faults", json=spec).status_code == 400
    assert sim.get("/_sim/faults").json()["queued"] == []


def test_a_stream_stops_when_its_client_leaves(sim: httpx.Client) -> None:
    body = chat("paced", stream=True)
    headers = {"x-sim-tokens": "100000"}  # minutes of tokens at the model's rate
    with sim.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        first = next(response.iter_lines())
        assert first.startswith("data: ")
    deadline = time.monotonic() + 10
    while sim.get("/_sim/stats").json()["by_status"] != {"499": 1}:
        assert time.monotonic() < deadline, "the stream outlived its client"
        time.sleep(0.02)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
# Each answer fault, the request it needs, and what shows in the (well-formed) answer.
ANSWER_FAULTS: dict[str, tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = {
    "refusal": ({}, lambda c: c["message"]["content"].startswith("I'm sorry, but I can't")),
    "uncertain": ({}, lambda c: c["message"]["content"].startswith("I'm not sure")),
    "length": ({}, lambda c: c["finish_reason"] == "length"),
    "bad_json": (
        {"response_format": {"type": "json_object"}},
        lambda c: not c["message"]["content"].startswith("{"),
    ),
    "bad_tool_args": (
        {"tools": [WEATHER]},
        lambda c: _not_json(c["message"]["tool_calls"][0]["function"]["arguments"]),
    ),
    "unknown_tool": (
        {"tools": [WEATHER]},
        lambda c: c["message"]["tool_calls"][0]["function"]["name"] != "get_weather",
    ),
}


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return True
    return False


@pytest.mark.parametrize("fault", sorted(ANSWER_FAULTS))
def test_scripted_answer_faults_spoil_one_answer_of_one_model(
    sim: httpx.Client, openapi: Validate, fault: str
) -> None:
    extra, shows = ANSWER_FAULTS[fault]
    sim.post("/_sim/faults", json={"fault": fault, "model": "gpt-4o"}).raise_for_status()
    other = sim.post("/v1/chat/completions", json=chat("gpt-4o-mini", **extra)).json()
    assert not shows(other["choices"][0])
    spoiled = sim.post("/v1/chat/completions", json=chat("gpt-4o", **extra)).json()
    openapi("CreateChatCompletionResponse", spoiled)
    assert shows(spoiled["choices"][0])
    again = sim.post("/v1/chat/completions", json=chat("gpt-4o", **extra)).json()
    assert not shows(again["choices"][0])


def test_bad_json_spoils_a_responses_api_answer_that_asked_for_json(
    sim: httpx.Client, openapi: Validate
) -> None:
    body = {"model": "gpt-4o", "input": "Which city?", "text": {"format": {"type": "json_object"}}}
    assert sim.post("/v1/responses", json=body).json()["output"][0]["content"][0]["text"][0] == "{"
    sim.post("/_sim/faults", json={"fault": "bad_json", "model": "gpt-4o"}).raise_for_status()
    spoiled = sim.post("/v1/responses", json=body).json()
    openapi("Response", spoiled)
    assert spoiled["output"][0]["content"][0]["text"].startswith("Sure!")
