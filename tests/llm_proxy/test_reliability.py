"""Retries, fallbacks, circuit breakers and load balancing, against scripted upstream faults."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from typing import Any

import httpx
import openai
import pytest

from tests.llm_proxy.conftest import backend
from tests.support.processes import Gateway, Simulator

MakeGateway = Callable[[dict[str, Any]], Gateway]


def chat(gw: Gateway, model: str) -> httpx.Response:
    with gw.client() as http:
        return http.post(
            "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )


def script(sim: httpx.Client, fault: str, model: str, count: int = 1, **extra: Any) -> None:
    response = sim.post(
        "/_sim/faults", json={"fault": fault, "count": count, "model": model, **extra}
    )
    response.raise_for_status()


def received(sim: httpx.Client, model: str) -> list[dict[str, Any]]:
    requests = sim.get("/_sim/requests").json()["requests"]
    return [r for r in requests if r["model"] == model]


def provider_health(gw: Gateway, name: str) -> dict[str, Any]:
    with gw.client() as http:
        rows = http.get("/v1/providers/health").json()["data"]
    return next(row for row in rows if row["deployment"] == name)


def two_tier(simulator: Simulator, **routing: Any) -> dict[str, Any]:
    return {
        "backends": [
            backend(simulator, "primary-dep", "m-primary", serves=["primary"]),
            backend(simulator, "secondary-dep", "m-secondary", serves=["secondary"]),
        ],
        "routing": {"fallbacks": {"primary": ["secondary"]}, **routing},
    }


def test_fallback_to_the_next_provider_on_500(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(two_tier(simulator, retries={"max_attempts": 2, "backoff_base_ms": 1}))
    script(sim, "500", "m-primary", count=2)
    response = chat(gw, "primary")
    assert response.status_code == 200
    assert response.headers["x-gateway-deployment"] == "secondary-dep"
    assert response.headers["x-gateway-fallback"] == "primary"
    assert response.headers["x-gateway-attempts"] == "3"
    assert len(received(sim, "m-primary")) == 2


def test_malformed_bodies_and_timeouts_are_retried(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    config = two_tier(simulator, retries={"max_attempts": 2, "backoff_base_ms": 1})
    config["backends"][0]["timeout_s"] = 0.5
    gw = make_gateway(config)
    script(sim, "malformed", "m-primary")
    response = chat(gw, "primary")
    assert response.status_code == 200
    assert response.headers["x-gateway-deployment"] == "primary-dep"
    assert response.headers["x-gateway-attempts"] == "2"
    script(sim, "timeout", "m-primary", count=2, timeout_s=5)
    response = chat(gw, "primary")
    assert response.headers["x-gateway-deployment"] == "secondary-dep"


def test_retry_waits_for_the_retry_after_of_a_429(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        {
            "backends": [backend(simulator, "solo", "m-solo")],
            "routing": {"retries": {"max_attempts": 3}},
        }
    )
    script(sim, "429", "m-solo", count=1, retry_after=1)
    response = chat(gw, "m-solo")
    assert response.status_code == 200
    first, second = received(sim, "m-solo")
    assert second["time"] - first["time"] >= 1.0


def test_429_beyond_patience_is_returned_with_retry_after(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        {
            "backends": [backend(simulator, "solo", "m-solo")],
            "routing": {"retries": {"max_attempts": 2, "max_retry_after_s": 0.5}},
        }
    )
    script(sim, "429", "m-solo", count=1, retry_after=30)
    response = chat(gw, "m-solo")
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_circuit_opens_after_consecutive_failures_and_closes_after_recovery(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        two_tier(
            simulator,
            retries={"max_attempts": 1},
            # One caller (the master key) opens the shared circuit here.
            circuit_breaker={"consecutive_failures": 3, "open_s": 1, "min_callers": 1},
        )
    )
    script(sim, "503", "m-primary", count=3)
    for _ in range(3):
        assert chat(gw, "primary").headers["x-gateway-deployment"] == "secondary-dep"
    assert provider_health(gw, "primary-dep")["circuit_state"] == "open"
    # While open, the primary is not even tried.
    assert chat(gw, "primary").headers["x-gateway-deployment"] == "secondary-dep"
    assert len(received(sim, "m-primary")) == 3
    time.sleep(1.1)
    # After open_s one probe goes through; it succeeds, so the circuit closes.
    assert chat(gw, "primary").headers["x-gateway-deployment"] == "primary-dep"
    health = provider_health(gw, "primary-dep")
    assert health["circuit_state"] == "closed"
    assert health["error_rate_1m"] == pytest.approx(3 / 4)
    assert health["last_failure"] is not None and health["latency_p50_ms"] is not None


def test_active_probes_let_an_open_circuit_try_again_early(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        two_tier(
            simulator,
            retries={"max_attempts": 1},
            circuit_breaker={"consecutive_failures": 2, "open_s": 600, "min_callers": 1},
            health_probes={"enabled": True, "interval_s": 0.1},
        )
    )
    script(sim, "503", "m-primary", count=2)
    for _ in range(2):
        assert chat(gw, "primary").headers["x-gateway-deployment"] == "secondary-dep"
    time.sleep(0.5)
    # open_s is ten minutes, but a probe answered: the circuit is half-open already.
    assert provider_health(gw, "primary-dep")["circuit_state"] == "half_open"
    assert chat(gw, "primary").headers["x-gateway-deployment"] == "primary-dep"
    assert provider_health(gw, "primary-dep")["circuit_state"] == "closed"


def test_weighted_distribution_follows_the_weights(
    simulator: Simulator, sim: httpx.Client, gateway: Gateway
) -> None:
    counts: collections.Counter[str] = collections.Counter()
    with gateway.client() as http:
        for _ in range(1000):
            response = http.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "w"}]},
            )
            counts[response.headers["x-gateway-deployment"]] += 1
    # Weights 1:3; 1,000 draws put the share within ±5 % with overwhelming probability.
    assert abs(counts["mini-b"] / 1000 - 0.75) <= 0.05


def test_priority_overflows_only_when_the_higher_tier_is_full(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        {
            "backends": [
                backend(simulator, "tier-0", "m-tiered", priority=0, max_rpm=3),
                backend(simulator, "tier-1", "m-tiered", priority=1),
            ],
            "routing": {"strategy": "priority"},
        }
    )
    served = [chat(gw, "m-tiered").headers["x-gateway-deployment"] for _ in range(5)]
    assert served == ["tier-0"] * 3 + ["tier-1"] * 2


def test_cost_strategy_picks_the_cheapest_deployment(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        {
            "backends": [
                backend(
                    simulator, "dear", "m-priced", input_cost_per_mtok=5, output_cost_per_mtok=15
                ),
                backend(
                    simulator,
                    "cheap",
                    "m-priced",
                    input_cost_per_mtok=0.1,
                    output_cost_per_mtok=0.4,
                ),
            ],
            "routing": {"strategy": "cost"},
        }
    )
    assert {chat(gw, "m-priced").headers["x-gateway-deployment"] for _ in range(10)} == {"cheap"}


def test_session_affinity_holds(
    simulator: Simulator, sim: httpx.Client, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        {
            "backends": [backend(simulator, f"dep-{i}", "m-shared") for i in range(4)],
            "routing": {"strategy": "session"},
        }
    )
    chosen: dict[str, set[str]] = collections.defaultdict(set)
    with gw.client() as http:
        for session in range(20):
            for turn in range(5):
                header = {"x-session-id": f"s-{session}"} if turn % 2 else {}
                metadata = {} if turn % 2 else {"metadata": {"session_id": f"s-{session}"}}
                response = http.post(
                    "/v1/chat/completions",
                    headers=header,
                    json={
                        "model": "m-shared",
                        "messages": [{"role": "user", "content": "t"}],
                        **metadata,
                    },
                )
                chosen[f"s-{session}"].add(response.headers["x-gateway-deployment"])
    assert all(len(deployments) == 1 for deployments in chosen.values())
    assert len(set().union(*chosen.values())) > 1


def test_a_cut_stream_reaches_the_client_as_an_error_event(
    simulator: Simulator, sim: httpx.Client, gateway: Gateway
) -> None:
    client = openai.OpenAI(base_url=gateway.v1, api_key=gateway.master_key, max_retries=0)
    script(sim, "cut", "m-streamy")
    stream = client.chat.completions.create(
        model="m-streamy", messages=[{"role": "user", "content": "go"}], stream=True
    )
    with pytest.raises(openai.APIError, match="ended before completion"):
        for _ in stream:
            pass


def test_client_disconnect_cancels_the_upstream_call(gateway: Gateway) -> None:
    with pytest.raises(httpx.ReadTimeout), gateway.client() as http:
        http.post(
            "/v1/chat/completions",
            json={"model": "m-slow", "messages": [{"role": "user", "content": "x"}]},
            timeout=0.5,
        )
    # The slow upstream answers after 3 s: in flight until then, unless it was cancelled.
    deadline = time.monotonic() + 1.5
    while provider_health(gateway, "slow")["in_flight"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert provider_health(gateway, "slow")["in_flight"] == 0
