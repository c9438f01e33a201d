"""Exact hits, what makes two requests different, opting out, expiry, bounds, stats, clearing."""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from tests.cache.conftest import (
    MODEL,
    Gateways,
    ask,
    configure,
    miss_and_store,
    received,
    stats,
    verdict,
)
from tests.support.openapi import validate
from tests.support.processes import Gateway


def test_the_same_request_is_answered_from_the_cache(
    gw: Gateway, sim: httpx.Client, marker: str
) -> None:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key)
    messages = [{"role": "user", "content": f"{marker} Name three prime numbers."}]
    first = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
    assert first.headers["x-gateway-cache"] == "miss"
    time.sleep(0.2)
    second = client.chat.completions.with_raw_response.create(model=MODEL, messages=messages)
    assert second.headers["x-gateway-cache"] == "hit"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    validate("CreateChatCompletionResponse", second.http_response.json())
    assert len(received(sim)) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"temperature": 0.2},
        {"top_p": 0.5},
        {"seed": 7},
        {"max_tokens": 5},
        {"n": 2},
        {"stop": ["\n"]},
        {"response_format": {"type": "json_object"}},
        {
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}],
            "tool_choice": "none",
        },
        {"model": "gpt-4o"},
    ],
)
def test_every_output_changing_parameter_is_part_of_the_key(
    gw: Gateway, sim: httpx.Client, marker: str, change: dict[str, object]
) -> None:
    prompt = f"{marker} Say hi in JSON."
    miss_and_store(gw, prompt)
    miss_and_store(gw, prompt, **change)
    assert verdict(gw, prompt, **change) == "hit"
    assert verdict(gw, prompt) == "hit"
    assert len(received(sim)) == 2


def test_streaming_and_metadata_do_not_change_the_key(gw: Gateway, marker: str) -> None:
    prompt = f"{marker} Why is the sky blue?"
    miss_and_store(gw, prompt, metadata={"tags": ["a"]}, user="u1")
    assert verdict(gw, prompt, user="u2") == "hit"
    assert verdict(gw, prompt, stream=True) == "hit"


def test_clients_can_opt_out_three_ways(gw: Gateway, sim: httpx.Client, marker: str) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": f"{marker} A monad?"}]}
    miss_and_store(gw, f"{marker} A monad?")
    with gw.client() as http:
        by_header = http.post(
            "/v1/chat/completions", json=body, headers={"cache-control": "no-cache"}
        )
        by_gateway_header = http.post(
            "/v1/chat/completions", json=body, headers={"x-gateway-cache": "bypass"}
        )
        by_metadata = http.post(
            "/v1/chat/completions", json={**body, "metadata": {"bypass_cache": True}}
        )
    for response in (by_header, by_gateway_header, by_metadata):
        assert response.status_code == 200
        assert response.headers["x-gateway-cache"] == "bypass"
    assert len(received(sim)) == 4


def test_agents_with_tool_calls_in_flight_are_never_served_a_stored_turn(
    gw: Gateway, sim: httpx.Client, marker: str
) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
    messages = [
        {"role": "user", "content": f"{marker} What's the weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "content": "4 degrees, rain"},
    ]
    with gw.client() as http:
        for _ in range(2):
            response = http.post(
                "/v1/chat/completions", json={"model": MODEL, "messages": messages}
            )
            assert response.status_code == 200
            assert response.headers["x-gateway-cache"] == "bypass"
    assert len(received(sim)) == 2


def test_answers_that_call_tools_are_not_stored(
    gw: Gateway, sim: httpx.Client, marker: str
) -> None:
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]
    choice = {"type": "function", "function": {"name": "lookup"}}
    for _ in range(2):
        response = ask(gw, f"{marker} Look it up.", tools=tools, tool_choice=choice)
        assert response.json()["choices"][0]["message"]["tool_calls"]
        assert response.headers["x-gateway-cache"] == "miss"
    assert len(received(sim)) == 2


def test_excluded_models_and_paths_are_not_cached(
    gw: Gateway, sim: httpx.Client, marker: str
) -> None:
    configure(gw, excluded_models=[MODEL])
    assert verdict(gw, f"{marker} Hello") == "bypass"
    assert verdict(gw, f"{marker} Hello") == "bypass"
    configure(gw, excluded_paths=["/v1/chat/completions"])
    assert "x-gateway-cache" not in ask(gw, f"{marker} Hello").headers
    assert len(received(sim)) == 3


def test_entries_expire_after_their_ttl(gw: Gateway, marker: str) -> None:
    # Exact entries only: a one-second TTL leaves no room for encoding on a busy machine.
    configure(gw, ttl_s=1, semantic={"enabled": False})
    miss_and_store(gw, f"{marker} Tell me a fact about owls.")
    assert verdict(gw, f"{marker} Tell me a fact about owls.") == "hit"
    time.sleep(1.2)
    assert verdict(gw, f"{marker} Tell me a fact about owls.") == "miss"


def test_the_size_bound_evicts_the_least_recently_used(gw: Gateway, marker: str) -> None:
    configure(gw, max_entries=2)
    miss_and_store(gw, f"{marker} first")
    miss_and_store(gw, f"{marker} second")
    assert verdict(gw, f"{marker} first") == "hit"  # "second" is now the least recently used
    miss_and_store(gw, f"{marker} third")
    assert stats(gw)["entries"] == 2
    assert verdict(gw, f"{marker} first") == "hit"
    assert verdict(gw, f"{marker} second") == "miss"


def test_stats_count_entries_hits_and_saved_cost(gateways: Gateways, marker: str) -> None:
    gw = gateways.embedded
    before = stats(gw)
    miss_and_store(gw, f"{marker} What is 2 + 2?")
    assert verdict(gw, f"{marker} What is 2 + 2?") == "hit"
    assert verdict(gw, f"{marker} What is 2 + 2?") == "hit"
    after = stats(gw)
    assert after["backend"] == "memory"
    assert after["entries"] == before["entries"] + 1
    assert after["bytes"] > before["bytes"]
    assert after["hits_exact"] == before["hits_exact"] + 2
    assert after["misses"] == before["misses"] + 1
    assert after["lookups"] == before["lookups"] + 3
    assert 0 < after["hit_rate_exact"] <= 1
    assert after["saved_usd"] > before["saved_usd"]


def test_clear_by_team_and_by_age(gw: Gateway, marker: str) -> None:
    # Exact entries only: "older than 1s" leaves no room for encoding on a busy machine.
    configure(gw, semantic={"enabled": False})
    miss_and_store(gw, f"{marker} old question")
    time.sleep(1.2)
    miss_and_store(gw, f"{marker} new question")
    with gw.client() as http:
        other_team = http.request("DELETE", "/v1/cache", json={"team_id": "someone-else"})
        assert other_team.json() == {"entries_deleted": 0}
        older = http.request(
            "DELETE", "/v1/cache", json={"scope": "team", "team_id": "master", "older_than": "1s"}
        )
        assert older.status_code == 200
        assert older.json()["entries_deleted"] >= 1
    assert verdict(gw, f"{marker} new question") == "hit"
    assert verdict(gw, f"{marker} old question") == "miss"
    with gw.client() as http:
        everything = http.request("DELETE", "/admin/cache")
    assert everything.json()["entries_deleted"] >= 2
    assert stats(gw)["entries"] == 0
    assert verdict(gw, f"{marker} new question") == "miss"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"scope": "everything"}',
        b'{"scope": "team"}',
        b'{"scope": "all", "team_id": "t1"}',
        b'{"older_than": "yesterday"}',
        b'{"older_than": -5}',
        b'{"team": "t1"}',
    ],
)
def test_a_bad_clear_request_is_refused_and_deletes_nothing(
    gw: Gateway, marker: str, body: bytes
) -> None:
    miss_and_store(gw, f"{marker} keep me")
    with gw.client() as http:
        response = http.request("DELETE", "/v1/cache", content=body)
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert verdict(gw, f"{marker} keep me") == "hit"


def test_cache_admin_needs_the_master_key(gw: Gateway) -> None:
    with gw.client(key="sk-wrong") as http:
        assert http.get("/admin/cache/stats").status_code == 401
        assert http.request("DELETE", "/admin/cache").status_code == 401
        assert http.request("DELETE", "/v1/cache", json={}).status_code == 401
