"""`model: "auto"` when the router-service cannot answer: the group's default serves."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.llm_proxy.conftest import backend
from tests.router_service.service_process import running_service
from tests.router_service.test_route import HARD, TRIVIAL
from tests.support.processes import Gateway, Simulator, free_port


def test_auto_falls_back_to_the_default_model_when_the_router_is_down(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway]
) -> None:
    gw = make_gateway(
        {
            "backends": [
                backend(simulator, "weak", "gpt-4o-mini"),
                backend(simulator, "strong", "gpt-4o"),
            ],
            "routing": {
                "auto_groups": {"auto": {"default": "gpt-4o-mini", "strong": "gpt-4o"}},
                "router_service": {"url": f"http://127.0.0.1:{free_port()}", "deadline_ms": 50},
            },
        }
    )
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Prove Fermat's last theorem"}]
    )
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"
    assert raw.headers["x-gateway-route"] == "group=auto; model=gpt-4o-mini; fallback=unavailable"
    assert "auto" in {m.id for m in client.models.list()}


@pytest.fixture(scope="module")
def router_url() -> Iterator[str]:
    with running_service() as url:
        yield url


def auto_gateway(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway], url: str, **extra: Any
) -> Gateway:
    return make_gateway(
        {
            "backends": [
                backend(simulator, "weak", "gpt-4o-mini"),
                backend(simulator, "strong", "gpt-4o"),
            ],
            "routing": {
                "auto_groups": {"auto": {"default": "gpt-4o-mini", "strong": "gpt-4o"}},
                "router_service": {"url": url, **extra},
            },
        }
    )


def test_auto_routes_hard_prompts_to_the_strong_model_and_trivial_ones_to_the_weak(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway], router_url: str
) -> None:
    # A generous deadline: this machine's load must not turn the check into a fallback.
    gw = auto_gateway(simulator, make_gateway, router_url, deadline_ms=5000)
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    hard = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": HARD}]
    )
    trivial = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": TRIVIAL}]
    )
    assert hard.headers["x-gateway-model"] == "gpt-4o"
    assert trivial.headers["x-gateway-model"] == "gpt-4o-mini"
    route = dict(part.strip().split("=", 1) for part in hard.headers["x-gateway-route"].split(";"))
    assert route["group"] == "auto" and route["router"] == "minilm"
    assert float(route["score"]) >= float(route["threshold"])

    # The decision is in the request log, and routing's saving in the usage report.
    with gw.client() as http:
        entries = {}
        for raw in (hard, trivial):
            request_id = raw.headers["x-request-id"]
            entries[request_id] = _logged(http, request_id)
    logged_hard = entries[hard.headers["x-request-id"]]
    logged_trivial = entries[trivial.headers["x-request-id"]]
    assert logged_hard["routed_from"] == "auto" and logged_hard["router"] == "minilm"
    assert logged_hard["router_score"] == pytest.approx(float(route["score"]), abs=1e-3)
    assert logged_hard["router_threshold"] == pytest.approx(float(route["threshold"]), abs=1e-3)
    # Routed to the strong model: it cost what the strong model costs; no saving.
    assert logged_hard["cost_strong_usd"] == pytest.approx(logged_hard["cost_usd"])
    # Routed to the weak model: gpt-4o's list price would have been higher.
    assert logged_trivial["cost_strong_usd"] > logged_trivial["cost_usd"] > 0


def test_a_team_sees_what_routing_saved_it(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway], router_url: str
) -> None:
    gw = auto_gateway(simulator, make_gateway, router_url, deadline_ms=5000)
    with gw.client() as http:
        team = http.post("/admin/teams", json={"name": "routed"}).json()
        secret = http.post("/admin/keys", json={"name": "r", "team_id": team["id"]}).json()["key"]
    client = openai.OpenAI(base_url=gw.v1, api_key=secret, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": TRIVIAL}]
    )
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"
    with gw.client() as http:
        entry = _logged(http, raw.headers["x-request-id"])
        usage = http.get(f"/v1/teams/{team['id']}/usage").json()
    saved = entry["cost_strong_usd"] - entry["cost_usd"]
    assert saved > 0
    assert usage["daily"]["routing_saved_usd"] == pytest.approx(saved)
    assert usage["monthly"]["routing_saved_usd"] == pytest.approx(saved)


def _logged(http: httpx.Client, request_id: str) -> dict[str, Any]:
    """The request-log entry, once the batched spend writer has written it."""
    deadline = time.monotonic() + 10
    while True:
        response = http.get(f"/admin/logs/{request_id}")
        if response.status_code == 200 or time.monotonic() > deadline:
            assert response.status_code == 200, response.text
            return dict(response.json())
        time.sleep(0.1)


def test_auto_falls_back_when_the_router_misses_its_deadline(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway], router_url: str
) -> None:
    gw = auto_gateway(simulator, make_gateway, router_url, deadline_ms=0.01)
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": HARD}]
    )
    assert raw.headers["x-gateway-route"] == "group=auto; model=gpt-4o-mini; fallback=deadline"
