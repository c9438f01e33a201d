"""Rate limits through real gateway processes: 429s as OpenAI sends them, tokens reserved and
settled, limits shared exactly by two gateways over one Redis, queueing, degrading, and what
happens when Redis is down."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
import yaml
from llm_proxy.pipeline.tokens import estimate_prompt_tokens

from tests.limits.conftest import MASTER_KEY, Counters, chat, launch
from tests.support.openapi import validate
from tests.support.processes import Gateway, Simulator, free_port

# OpenAI writes durations the way Go does: "20ms", "1s", "59.5s", "6m0s".
DURATION = re.compile(r"^(\d+ms|(\d+h)?(\d+m)?\d+(\.\d+)?s)$")


def reserved_tokens(content: str, max_tokens: int) -> int:
    """What the gateway reserves for a one-message chat: the prompt counted, plus max_tokens."""
    return estimate_prompt_tokens({"messages": [{"role": "user", "content": content}]}) + max_tokens


# Text a client might hide where a prompt-only count would not see it: about 500 tokens.
HIDDEN = "lorem " * 500
# The Anthropic-format ones last: they go through LiteLLM's translation, whose import the
# first of them waits for.
HIDDEN_PARTS = (
    "tools",
    "tool_calls",
    "response_format",
    "image",
    "system_blocks",
    "anthropic_tool_result",
    "anthropic_tools",
)
SLOW = reserved_tokens("hi", 10)
HELD = reserved_tokens("hi", 200)
RULES: list[dict[str, Any]] = [
    {"model": "m-rpm", "rpm": 3, "tpm": 10_000},
    {"model": "m-anth", "rpm": 1},
    {"model": "m-io", "input_tpm": 40, "output_tpm": 25},
    {"model": "m-stream", "rpm": 100, "tpm": 100_000},
    {"model": "m-drip", "tpm": 100_000},
    {"model": "m-fail", "rpm": 2, "tpm": 10_000},
    {"model": "m-slow", "per": "model", "rpm": 100},
    {"model": "m-slow-tokens", "per": "model", "tpm": 100 * SLOW + SLOW // 2},
    {"model": "m-held", "per": "model", "tpm": 2 * HELD},
    {"model": "m-big", "per": "model", "rpm": 1},
    {"model": "m-admin", "per": "model", "rpm": 5},
    {"model": "m-tools", "per": "model", "tpm": 3000},
    *({"model": f"m-part-{kind}", "tpm": 100_000} for kind in HIDDEN_PARTS),
]
MODELS = [str(rule["model"]) for rule in RULES] + ["m-cheap"]


@pytest.fixture(scope="module")
def pair(
    simulator: Simulator, store: Counters, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Gateway]]:
    """Two gateway processes sharing one Redis prefix, as two replicas would."""
    limits = {"rules": RULES, "degrade_to": {"m-big": "m-cheap"}}
    root = tmp_path_factory.mktemp("pair")
    gateways = [launch(simulator, root / f"gw{i}", MODELS, limits, store.prefix) for i in (0, 1)]
    yield gateways
    for gw in gateways:
        gw.stop()


@pytest.fixture(scope="module")
def gw(pair: list[Gateway]) -> Gateway:
    return pair[0]


def sdk(gateway: Gateway) -> openai.OpenAI:
    # No SDK retries: the test must see the 429 itself.
    return openai.OpenAI(base_url=gateway.v1, api_key=MASTER_KEY, max_retries=0)


def received(sim: httpx.Client, model: str) -> int:
    return sum(1 for r in sim.get("/_sim/requests").json()["requests"] if r["model"] == model)


async def burst(urls: list[str], body: dict[str, Any], count: int) -> list[httpx.Response]:
    """`count` concurrent requests, spread over the gateways round-robin."""
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(headers=headers, timeout=60, limits=limits) as client:
        sent = [
            client.post(f"{urls[i % len(urls)]}/v1/chat/completions", json=body)
            for i in range(count)
        ]
        return await asyncio.gather(*sent)


def test_over_the_rpm_limit_answers_429_with_openai_headers(gw: Gateway, sim: httpx.Client) -> None:
    client = sdk(gw)
    for remaining in ("2", "1", "0"):
        raw = client.chat.completions.with_raw_response.create(**chat("m-rpm", max_tokens=5))
        assert raw.headers["x-ratelimit-limit-requests"] == "3"
        assert raw.headers["x-ratelimit-remaining-requests"] == remaining
        assert raw.headers["x-ratelimit-limit-tokens"] == "10000"
        assert int(raw.headers["x-ratelimit-remaining-tokens"]) < 10_000
        assert DURATION.match(raw.headers["x-ratelimit-reset-requests"])
        assert DURATION.match(raw.headers["x-ratelimit-reset-tokens"])
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(**chat("m-rpm", max_tokens=5))
    response = refused.value.response
    assert 1 <= int(response.headers["retry-after"]) <= 60
    assert response.headers["x-ratelimit-limit-requests"] == "3"
    assert response.headers["x-ratelimit-remaining-requests"] == "0"
    assert DURATION.match(response.headers["x-ratelimit-reset-requests"])
    body = response.json()
    validate("ErrorResponse", body)
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert body["error"]["type"] == "rate_limit_error"
    assert "requests per minute" in body["error"]["message"]
    assert received(sim, "m-rpm") == 3


def test_anthropic_clients_get_their_own_429_shape(gw: Gateway) -> None:
    sdk(gw).chat.completions.create(**chat("m-anth", max_tokens=5))
    client = anthropic.Anthropic(base_url=gw.url, api_key=MASTER_KEY, max_retries=0)
    with pytest.raises(anthropic.RateLimitError) as refused:
        client.messages.create(
            model="m-anth", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
        )
    assert refused.value.response.headers["x-ratelimit-remaining-requests"] == "0"
    assert refused.value.body["error"]["type"] == "rate_limit_error"


def test_input_and_output_tokens_are_limited_separately(gw: Gateway, sim: httpx.Client) -> None:
    client = sdk(gw)
    with pytest.raises(openai.RateLimitError) as too_long:
        client.chat.completions.create(**chat("m-io", content="word " * 60, max_tokens=5))
    assert "Request too large" in too_long.value.response.json()["error"]["message"]
    with pytest.raises(openai.RateLimitError) as too_much_output:
        client.chat.completions.create(**chat("m-io", max_tokens=30))
    assert "output tokens" in too_much_output.value.response.json()["error"]["message"]
    raw = client.chat.completions.with_raw_response.create(**chat("m-io", max_tokens=20))
    assert raw.headers["x-ratelimit-limit-tokens"] in {"40", "25"}
    assert received(sim, "m-io") == 1


def test_a_streams_reservation_becomes_its_real_usage(gw: Gateway, store: Counters) -> None:
    stream = sdk(gw).chat.completions.create(
        **chat("m-stream", max_tokens=300), stream=True, stream_options={"include_usage": True}
    )
    usage = [chunk.usage for chunk in stream if chunk.usage is not None][-1]
    assert usage.completion_tokens == 40
    # Reserved: the prompt plus max_tokens (300); settled: what the stream really used.
    tpm = "rule:m-stream:key:master:tpm"
    assert store.eventually(tpm, usage.total_tokens) == usage.total_tokens
    assert store.total("rule:m-stream:key:master:rpm") == 1


def test_a_client_leaving_mid_stream_is_settled(gw: Gateway, store: Counters) -> None:
    body = chat("m-drip", max_tokens=300, stream=True)
    with gw.client() as http, http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert next(response.iter_lines()).startswith("data: ")
    # The upstream had not reported usage when the client left: the prompt counts in full
    # and the output as far as it was streamed (a token or two of the 300 reserved).
    prompt = reserved_tokens("hi", 0)
    key = "rule:m-drip:key:master:tpm"
    deadline = time.monotonic() + 5
    while store.total(key) >= reserved_tokens("hi", 300) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert prompt < store.total(key) <= prompt + 10


def test_a_request_that_fails_upstream_gives_its_reservation_back(
    gw: Gateway, store: Counters, sim: httpx.Client
) -> None:
    sim.post("/_sim/faults", json={"fault": "500", "count": 1, "model": "m-fail"})
    client = sdk(gw)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(**chat("m-fail", max_tokens=5))
    assert store.eventually("rule:m-fail:key:master:rpm", 0) == 0
    assert store.total("rule:m-fail:key:master:tpm") == 0
    # Both requests of the limit are still there to use.
    client.chat.completions.create(**chat("m-fail", max_tokens=5))
    client.chat.completions.create(**chat("m-fail", max_tokens=5))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**chat("m-fail", max_tokens=5))


def test_two_gateways_share_an_rpm_limit_exactly(pair: list[Gateway], sim: httpx.Client) -> None:
    urls = [gw.url for gw in pair]
    responses = asyncio.run(burst(urls, chat("m-slow", max_tokens=5), 200))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 100
    assert statuses.count(429) == 100
    assert received(sim, "m-slow") == 100


def test_two_gateways_share_a_tpm_limit_exactly(
    pair: list[Gateway], store: Counters, sim: httpx.Client
) -> None:
    limit = 100 * SLOW + SLOW // 2
    urls = [gw.url for gw in pair]
    responses = asyncio.run(burst(urls, chat("m-slow-tokens", max_tokens=10), 200))
    admitted = [r for r in responses if r.status_code == 200]
    assert all(r.status_code == 429 for r in responses if r.status_code != 200)
    # The whole burst is in flight before the first answer settles, so admission is
    # decided on reservations: never over the limit, and not more than 1 % under it.
    assert len(admitted) * SLOW <= limit
    assert len(admitted) >= 0.99 * (limit // SLOW)
    assert received(sim, "m-slow-tokens") == len(admitted)
    used = sum(r.json()["usage"]["total_tokens"] for r in admitted)
    assert store.eventually("rule:m-slow-tokens:model:m-slow-tokens:tpm", used) == used


def test_without_a_queue_a_full_limit_answers_429(gw: Gateway) -> None:
    # Two reservations fill the limit; the third is refused even though the first two
    # will settle far below what they reserved.
    responses = asyncio.run(burst([gw.url], chat("m-held", max_tokens=200), 3))
    assert sorted(r.status_code for r in responses) == [200, 200, 429]


def test_over_a_models_limit_a_cheaper_model_answers(gw: Gateway, sim: httpx.Client) -> None:
    client = sdk(gw)
    first = client.chat.completions.with_raw_response.create(**chat("m-big", max_tokens=5))
    assert "x-gateway-downgraded-from" not in first.headers
    second = client.chat.completions.with_raw_response.create(**chat("m-big", max_tokens=5))
    assert second.headers["x-gateway-downgraded-from"] == "m-big"
    assert second.headers["x-gateway-model"] == "m-cheap"
    assert received(sim, "m-big") == 1
    assert received(sim, "m-cheap") == 1


def test_rules_and_live_usage_on_the_admin_api(gw: Gateway) -> None:
    with gw.client() as http:
        assert (
            http.post("/v1/chat/completions", json=chat("m-admin", max_tokens=5)).status_code == 200
        )
        rules = http.get("/admin/limits/rules").json()
        assert rules["store"] == "redis"
        assert {"model": "m-admin", "per": "model", "rpm": 5} in [
            {k: v for k, v in rule.items() if v is not None} for rule in rules["rules"]
        ]
        rows = http.get("/admin/limits/usage", params={"model": "m-admin"}).json()["data"]
        assert rows == [
            {
                "counter": "rule:m-admin:model:m-admin:rpm",
                "owner": "model:m-admin",
                "unit": "requests",
                "window": "1m",
                "used": 1,
                "limit": 5,
                "remaining": 4,
            }
        ]
        assert http.get("/admin/limits/usage").status_code == 400
    with gw.client("sk-wrong") as stranger:
        assert stranger.get("/admin/limits/rules").status_code == 401


@pytest.fixture(scope="module")
def embedded(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """No Redis: counters in process, with a queue for requests over a limit."""
    limits = {
        "rules": [
            {"model": "m-held", "per": "model", "tpm": 2 * HELD},
            {"model": "m-rpm", "rpm": 2},
        ],
        "queue": {"max_wait_s": 10},
    }
    directory = tmp_path_factory.mktemp("embedded")
    gateway = launch(simulator, directory, ["m-held", "m-rpm"], limits, None)
    yield gateway
    gateway.stop()


def test_a_queued_request_waits_for_room_instead_of_429(embedded: Gateway) -> None:
    # As in the test without a queue, but the third waits until one of the first two
    # settles (each takes the simulator's 400 ms), and only then goes upstream.
    responses = asyncio.run(burst([embedded.url], chat("m-held", max_tokens=200), 3))
    assert [r.status_code for r in responses] == [200, 200, 200]
    queued = max(responses, key=lambda r: float(r.headers["x-gateway-overhead-ms"]))
    # Its wait is the gateway's own time (upstream time is not in the overhead) ...
    assert float(queued.headers["x-gateway-overhead-ms"]) >= 300
    # ... and it was answered after two upstream calls' worth of time, back to back.
    assert queued.elapsed.total_seconds() >= 0.8


def test_the_embedded_default_counts_in_process(embedded: Gateway) -> None:
    # Waiting cannot help a request limit that frees only after a minute: 429 at once.
    client = sdk(embedded)
    client.chat.completions.create(**chat("m-rpm", max_tokens=5))
    client.chat.completions.create(**chat("m-rpm", max_tokens=5))
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(**chat("m-rpm", max_tokens=5), timeout=30)


def test_a_dead_redis_fails_open_by_default_and_closed_when_configured(
    simulator: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp("dead-redis")
    limits = {"rules": [{"rpm": 1}], "redis_timeout_ms": 100}
    dead = {"url": f"redis://127.0.0.1:{free_port()}/0", "prefix": "gwtest:dead:"}
    gateway = launch(simulator, directory, ["m-any"], limits, None, redis=dead)
    try:
        with gateway.client() as http:
            opened = [http.post("/v1/chat/completions", json=chat("m-any")) for _ in range(3)]
            assert [r.status_code for r in opened] == [200, 200, 200]
            assert all("x-ratelimit-limit-requests" not in r.headers for r in opened)
            config = yaml.safe_load(gateway.config_path.read_text())
            config["limits"]["fail_mode"] = "closed"
            gateway.config_path.write_text(yaml.safe_dump(config))
            assert http.post("/admin/config/reload").status_code == 200
            closed = http.post("/v1/chat/completions", json=chat("m-any"), timeout=10)
        assert closed.status_code == 503
        assert closed.json()["error"]["code"] == "limits_unavailable"
        assert closed.headers["retry-after"] == "1"
    finally:
        output = gateway.stop()
    assert "counter store unavailable" in output


def _tool(description: str) -> dict[str, Any]:
    parameters = {"type": "object", "properties": {"q": {"type": "string"}}}
    function = {"name": "lookup", "description": description, "parameters": parameters}
    return {"type": "function", "function": function}


def test_tokens_hidden_in_tool_descriptions_count_against_tpm(
    gw: Gateway, sim: httpx.Client
) -> None:
    # Ten concurrent requests of ~2,000 tokens each, the text in tools[].function.description,
    # against tpm 3,000: one fits, the other nine are refused before reaching the upstream.
    body = chat("m-tools", max_tokens=5, tools=[_tool("lorem " * 2000)])
    responses = asyncio.run(burst([gw.url], body, 10))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1, statuses
    assert statuses.count(429) == 9
    refused = next(r for r in responses if r.status_code == 429).json()["error"]
    assert refused["code"] == "rate_limit_exceeded" and "tokens" in refused["message"]
    assert received(sim, "m-tools") == 1


def _hiding(kind: str) -> tuple[str, dict[str, Any]]:
    """A request (path, body) with HIDDEN in one part that is sent but is not message text."""
    model = f"m-part-{kind}"
    user = [{"role": "user", "content": "hi"}]
    if kind == "tools":
        return "/v1/chat/completions", chat(model, tools=[_tool(HIDDEN)], max_tokens=5)
    if kind == "tool_calls":
        call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": HIDDEN}}
        messages = [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "c1", "content": "ok"},
        ]
        return "/v1/chat/completions", {"model": model, "messages": messages, "max_tokens": 5}
    if kind == "response_format":
        schema = {"type": "object", "description": HIDDEN, "properties": {}}
        response_format = {"type": "json_schema", "json_schema": {"name": "s", "schema": schema}}
        return "/v1/chat/completions", chat(model, response_format=response_format, max_tokens=5)
    if kind == "image":
        part = {"type": "image_url", "image_url": {"url": "https://example.invalid/a.png"}}
        content = [{"type": "text", "text": "hi"}, part]
        body = {"model": model, "messages": [{"role": "user", "content": content}]}
        return "/v1/chat/completions", {**body, "max_tokens": 5}
    if kind == "system_blocks":
        system = [{"type": "text", "text": HIDDEN}]
        return "/v1/messages", {"model": model, "system": system, "messages": user, "max_tokens": 5}
    if kind == "anthropic_tools":
        tool = {"name": "lookup", "description": HIDDEN, "input_schema": {"type": "object"}}
        return "/v1/messages", {"model": model, "tools": [tool], "messages": user, "max_tokens": 5}
    result = {
        "type": "tool_result",
        "tool_use_id": "t1",
        "content": [{"type": "text", "text": HIDDEN}],
    }
    use = {"type": "tool_use", "id": "t1", "name": "lookup", "input": {"q": "x"}}
    messages = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [use]},
        {"role": "user", "content": [result]},
    ]
    return "/v1/messages", {"model": model, "messages": messages, "max_tokens": 5}


@pytest.mark.parametrize("kind", HIDDEN_PARTS)
def test_every_part_that_is_sent_is_counted(gw: Gateway, kind: str) -> None:
    path, body = _hiding(kind)
    with gw.client() as http:
        # LiteLLM's first import (the translated path) takes seconds, more on a busy machine.
        response = http.post(path, json=body, timeout=180)
    assert response.status_code == 200, response.text
    # Admitted with the counter fresh: what it reserved is the limit minus what remains.
    reserved = 100_000 - int(response.headers["x-ratelimit-remaining-tokens"])
    # An image counts at its provider's ceiling (OpenAI: up to 1,445 tokens at full detail).
    floor = 1400 if kind == "image" else 500
    assert reserved >= floor, (kind, reserved)
