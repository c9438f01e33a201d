"""Budgets with real virtual keys (PostgreSQL) and counters in Redis: alerts at 80 % and
100 % sent once to a webhook, 429 once spent, auto-downgrade to a cheaper model, and a
key's own rate limit."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.limits.conftest import MASTER_KEY, Counters, chat, launch
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator
from tests.support.webhooks import Webhook

# $1 per output token and nothing for input: a request capped at 10 tokens costs $10.
PRICEY = {"input_cost_per_mtok": 0, "output_cost_per_mtok": 1_000_000}


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    with scratch_database("limits") as url:
        yield url


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator,
    store: Counters,
    webhook: Webhook,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    limits = {"alerts": {"webhook_url": webhook.url}}
    gateway = launch(
        simulator,
        tmp_path_factory.mktemp("budgets"),
        ["m-cheap", "m-plain"],
        limits,
        store.prefix,
        prices={"m-pricey": PRICEY},
        database_url=database_url,
    )
    yield gateway
    gateway.stop()


def create(gw: Gateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with gw.client() as http:
        response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def team_key(gw: Gateway, **budget: Any) -> tuple[str, str]:
    """A key of a new team with a new budget: (the key's secret, the team's id)."""
    name = secrets.token_hex(4)
    made = create(gw, "/admin/budgets", {"name": f"budget-{name}", **budget})
    team = create(gw, "/admin/teams", {"name": f"team-{name}", "budget_id": made["id"]})
    key = create(gw, "/admin/keys", {"name": f"key-{name}", "team_id": team["id"]})
    return key["key"], team["id"]


def client(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=key, max_retries=0)


def wait_for(webhook: Webhook, count: int) -> list[dict[str, Any]]:
    """Alerts are posted in the background: wait (bounded) until `count` have arrived."""
    return webhook.wait_for(count)


def test_budget_alerts_once_at_80_and_100_percent_then_429(
    gw: Gateway, webhook: Webhook, sim: httpx.Client
) -> None:
    key, team = team_key(gw, usd_daily=50, alert_thresholds=[0.8, 1.0])
    caller = client(gw, key)
    for _ in range(3):
        caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
    assert [a for a in webhook.received if a["id"] == team] == []
    caller.chat.completions.create(**chat("m-pricey", max_tokens=10))  # $40: 80 %
    caller.chat.completions.create(**chat("m-pricey", max_tokens=10))  # $50: 100 %
    with pytest.raises(openai.RateLimitError) as refused:
        caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
    response = refused.value.response
    assert response.json()["error"]["code"] == "budget_exceeded"
    assert int(response.headers["retry-after"]) >= 1
    with pytest.raises(openai.RateLimitError):
        caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
    alerts = [a for a in wait_for(webhook, 2) if a["id"] == team]
    assert sorted(a["threshold"] for a in alerts) == [0.8, 1.0]
    assert all(a["scope"] == "team" and a["unit"] == "usd" and a["limit"] == 50 for a in alerts)
    assert next(a for a in alerts if a["threshold"] == 0.8)["used"] == 40
    received = sim.get("/_sim/requests").json()["requests"]
    assert sum(1 for r in received if r["model"] == "m-pricey") == 5


def test_past_its_budget_a_team_is_downgraded_to_a_cheaper_model(
    gw: Gateway, sim: httpx.Client
) -> None:
    key, _ = team_key(gw, usd_daily=20, auto_downgrade_to="m-cheap")
    caller = client(gw, key)
    for _ in range(2):
        raw = caller.chat.completions.with_raw_response.create(**chat("m-pricey", max_tokens=10))
        assert "x-gateway-downgraded-from" not in raw.headers
    raw = caller.chat.completions.with_raw_response.create(**chat("m-pricey", max_tokens=10))
    assert raw.headers["x-gateway-downgraded-from"] == "m-pricey"
    assert raw.headers["x-gateway-model"] == "m-cheap"
    received = [r["model"] for r in sim.get("/_sim/requests").json()["requests"]]
    assert received.count("m-pricey") == 2
    assert received.count("m-cheap") == 1


def test_a_token_budget_is_enforced_too(gw: Gateway) -> None:
    key, _ = team_key(gw, tokens_daily=30)
    caller = client(gw, key)
    while True:
        try:
            caller.chat.completions.create(**chat("m-plain", max_tokens=10))
        except openai.RateLimitError as refused:
            assert refused.response.json()["error"]["code"] == "budget_exceeded"
            break


def test_a_keys_own_rate_limit_is_enforced(gw: Gateway, store: Counters) -> None:
    issued = create(gw, "/admin/keys", {"name": "limited", "rpm": 2, "tpm": 5000})
    caller = client(gw, issued["key"])
    for remaining in ("1", "0"):
        raw = caller.chat.completions.with_raw_response.create(**chat("m-plain", max_tokens=5))
        assert raw.headers["x-ratelimit-limit-requests"] == "2"
        assert raw.headers["x-ratelimit-remaining-requests"] == remaining
        assert raw.headers["x-ratelimit-limit-tokens"] == "5000"
    with pytest.raises(openai.RateLimitError) as refused:
        caller.chat.completions.create(**chat("m-plain", max_tokens=5))
    assert f"key:{issued['id']}" in refused.value.response.json()["error"]["message"]
    assert store.total(f"key:{issued['id']}:rpm") == 2
    with gw.client(MASTER_KEY) as http:
        rows = http.get("/admin/limits/usage", params={"key_id": issued["id"]}).json()["data"]
    assert {"counter": f"key:{issued['id']}:rpm", "used": 2, "limit": 2}.items() <= next(
        r for r in rows if r["counter"].endswith(":rpm")
    ).items()
