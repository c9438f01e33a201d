"""POST /route over HTTP against the real service with the shipped checkpoint."""

from __future__ import annotations

import httpx

HARD = (
    "Debug this code:\n```python\ndef f(xs):\n    return sorted(xs)[len(xs)//2]\n```\n"
    "It returns the wrong median for even-length lists. Fix it and prove the fix correct."
)
TRIVIAL = "Hi! How are you today?"


def route(client: httpx.Client, messages: list[dict], group: str = "auto") -> dict:
    response = client.post("/route", json={"messages": messages, "auto_group": group})
    assert response.status_code == 200, response.text
    return response.json()


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def test_hard_prompt_goes_to_the_strong_model(client: httpx.Client) -> None:
    answer = route(client, user(HARD))
    assert answer["model"] == "gpt-4o"
    assert answer["router"] == "minilm"
    assert answer["score"] >= answer["threshold"]


def test_trivial_prompt_goes_to_the_weak_model(client: httpx.Client) -> None:
    answer = route(client, user(TRIVIAL))
    assert answer["model"] == "gpt-4o-mini"
    assert answer["score"] < answer["threshold"]


def test_answer_has_exactly_the_contract_fields(client: httpx.Client) -> None:
    answer = route(client, user(TRIVIAL))
    assert set(answer) == {"model", "score", "threshold", "router", "latency_ms"}
    assert 0.0 <= answer["score"] <= 1.0
    assert 0.0 <= answer["threshold"] <= 1.0
    assert answer["latency_ms"] > 0


def test_routes_on_the_conversation_not_only_its_last_line(client: httpx.Client) -> None:
    follow_up = "Now do the same for the other case."
    chat = [{"role": "user", "content": "Write a haiku about spring."}]
    maths = [{"role": "user", "content": HARD}]
    tail = [{"role": "assistant", "content": "Done."}, {"role": "user", "content": follow_up}]
    after_chat = route(client, chat + tail)
    after_maths = route(client, maths + tail)
    assert after_maths["score"] > after_chat["score"]
    assert after_maths["model"] == "gpt-4o"


def test_long_conversation_with_content_parts_and_tools_is_routed(client: httpx.Client) -> None:
    long_text = "Summarise the log below and find the failing request.\n" + "GET /v1 200\n" * 3000
    messages = [
        {"role": "system", "content": "You are a coding agent."},
        {"role": "user", "content": [{"type": "text", "text": long_text}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "1", "type": "function"}]},
        {"role": "tool", "tool_call_id": "1", "content": "exit status 1"},
    ]
    answer = route(client, messages)
    assert answer["model"] in {"gpt-4o", "gpt-4o-mini"}


def test_tiers_pick_a_rung_of_the_ladder(client: httpx.Client) -> None:
    assert route(client, user(TRIVIAL), "ladder")["model"] == "mini"
    assert route(client, user(HARD), "ladder")["model"] in {"mid", "top"}


def test_random_router_of_routellm_is_selectable(client: httpx.Client) -> None:
    answer = route(client, user(TRIVIAL), "coin")
    assert answer["router"] == "random"
    assert answer["model"] in {"strong-model", "weak-model"}


def _error(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def test_unknown_group_is_a_404_with_an_openai_error(client: httpx.Client) -> None:
    response = client.post("/route", json={"messages": user("hi"), "auto_group": "nope"})
    assert "nope" in _error(response, 404)["message"]


def test_malformed_bodies_are_400(client: httpx.Client) -> None:
    _error(
        client.post("/route", content=b"{not json", headers={"content-type": "application/json"}),
        400,
    )
    _error(client.post("/route", json={"messages": [], "auto_group": "auto"}), 400)
    _error(client.post("/route", json={"messages": "hi", "auto_group": "auto"}), 400)
    _error(client.post("/route", json={"messages": user("hi")}), 400)


def test_group_on_an_unavailable_stock_router_is_503(client: httpx.Client) -> None:
    response = client.post("/route", json={"messages": user("hi"), "auto_group": "stock"})
    assert _error(response, 503)["code"] == "router_unavailable"


def test_health_says_which_routers_are_loaded(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok"
    assert health["routers"] == ["minilm", "random"]
    assert health["loading_routers"] == []
    assert "mf" in health["unavailable_routers"]
    assert {g["name"] for g in health["auto_groups"]} >= {"auto", "ladder", "stock"}


def test_oversized_body_is_413_and_the_service_stays_up(client: httpx.Client) -> None:
    huge = "x" * (9 * 1024 * 1024)
    response = client.post("/route", json={"messages": user(huge), "auto_group": "auto"})
    assert _error(response, 413)["code"] == "request_too_large"
    assert route(client, user(TRIVIAL))["model"] == "gpt-4o-mini"
