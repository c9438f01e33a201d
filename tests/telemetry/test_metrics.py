"""`/metrics` after a scripted workload: parsed with prometheus-client, counted exactly."""

from __future__ import annotations

import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import Gateway, Simulator
from tests.telemetry.conftest import Plain, gateway_config, launch

Samples = Counter[tuple[str, frozenset[tuple[str, str]]]]


def scrape(gateway: Gateway) -> Samples:
    response = httpx.get(f"{gateway.url}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: Samples = Counter()
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] += sample.value
    return samples


def total(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(value for (n, have), value in samples.items() if n == name and wanted <= have)


def chat(gateway: Gateway, model: str, prompt: str) -> httpx.Response:
    with gateway.client() as http:
        return http.post(
            "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": prompt}]},
        )


def test_counters_match_a_scripted_workload(plain: Plain) -> None:
    gw = plain.gateway
    before = scrape(gw)
    tag = secrets.token_hex(4)
    answered: list[dict[str, Any]] = []
    # 5 distinct prompts: cache misses.
    for i in range(5):
        response = chat(gw, "gpt-4o-mini", f"question {i} {tag}")
        assert response.status_code == 200
        answered.append(response.json())
    # One prompt 4 times: a miss, then 3 hits.
    cached = [chat(gw, "m-cached", f"the same question {tag}") for _ in range(4)]
    assert [r.headers.get("x-gateway-cache") for r in cached] == ["miss", "hit", "hit", "hit"]
    # A hit costs no tokens: only the miss's usage counts.
    answered.append(cached[0].json())
    # m-limited takes 3 a minute: 2 of 5 are refused.
    limited = [chat(gw, "m-limited", f"limited {i} {tag}") for i in range(5)]
    assert [r.status_code for r in limited] == [200, 200, 200, 429, 429]
    answered += [r.json() for r in limited[:3]]
    after = scrape(gw)

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("gateway_requests_total", status="200", model="gpt-4o-mini") == 5
    assert delta("gateway_requests_total", status="200", model="m-cached") == 4
    assert delta("gateway_requests_total", status="200", model="m-limited") == 3
    assert delta("gateway_requests_total", status="429", model="m-limited") == 2
    assert delta("gateway_rate_limited_total", dimension="requests_per_minute") == 2
    assert delta("gateway_requests_total") == 14
    prompt = sum(body["usage"]["prompt_tokens"] for body in answered)
    completion = sum(body["usage"]["completion_tokens"] for body in answered)
    assert delta("gateway_tokens_total", type="input") == prompt
    assert delta("gateway_tokens_total", type="output") == completion
    assert delta("gateway_cache_lookups_total", result="hit") == 3
    assert delta("gateway_cache_lookups_total", result="miss") == 9
    assert delta("gateway_request_duration_seconds_count") == 14
    assert delta("gateway_overhead_seconds_count") == 14
    assert delta("gateway_active_requests") == 0
    # The cost counter is what the backends' prices make of those tokens (gpt-4o-mini's
    # list price; the simulator's other models have none).
    mini = [body["usage"] for body in answered[:5]]
    mini_cost = sum(u["prompt_tokens"] * 0.15e-6 + u["completion_tokens"] * 0.6e-6 for u in mini)
    assert abs(delta("gateway_cost_usd_total", model="gpt-4o-mini") - mini_cost) < 1e-12


def test_histograms_resolve_half_a_millisecond_and_health_is_exported(plain: Plain) -> None:
    samples = scrape(plain.gateway)
    buckets = {
        dict(labels)["le"]
        for (name, labels) in samples
        if name == "gateway_overhead_seconds_bucket"
    }
    assert {"0.0005", "0.001", "0.0015", "0.002"} <= buckets
    assert total(samples, "gateway_backend_up", deployment="mini", provider="simulator") == 1
    assert total(samples, "gateway_circuit_state", deployment="mini") == 0
    assert total(samples, "gateway_spend_spool_backlog") == 0
    # No label carries a request id, a key or a prompt.
    values = {value for _, labels in samples for _, value in labels}
    assert not any(v.startswith(("req_", "sk-")) for v in values)


def test_the_circuit_gauge_follows_an_opened_circuit(plain: Plain, sim: httpx.Client) -> None:
    gw = plain.gateway
    sim.post("/_sim/faults", json={"fault": "500", "count": 5, "model": "m-fragile"})
    # Each request tries twice (max_attempts 2): the circuit opens within 5 requests.
    statuses = [chat(gw, "m-fragile", "hi").status_code for _ in range(5)]
    assert statuses[0] == 502
    assert statuses[-1] == 503
    samples = scrape(gw)
    assert total(samples, "gateway_circuit_state", deployment="fragile") == 2
    assert total(samples, "gateway_backend_up", deployment="fragile") == 0
    for status in (502, 503):
        counted = total(samples, "gateway_requests_total", status=str(status), model="m-fragile")
        assert counted == statuses.count(status)
    assert total(samples, "gateway_circuit_state", deployment="mini") == 0


def test_workers_sharing_a_multiprocess_directory_export_one_sum(
    simulator: Simulator, tmp_path: Path
) -> None:
    """Workers come and go; the counts of those that have ended still add up."""
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared)}
    first = launch(gateway_config(simulator, tmp_path), tmp_path / "first", env)
    try:
        for _ in range(2):
            assert chat(first, "gpt-4o-mini", "from the first").status_code == 200
        assert total(scrape(first), "gateway_requests_total", model="gpt-4o-mini") == 2
    finally:
        first.stop()
    second = launch(gateway_config(simulator, tmp_path), tmp_path / "second", env)
    try:
        for _ in range(3):
            assert chat(second, "gpt-4o-mini", "from the second").status_code == 200
        samples = scrape(second)
        assert total(samples, "gateway_requests_total", model="gpt-4o-mini") == 5
        assert total(samples, "gateway_overhead_seconds_count") == 5
        assert total(samples, "gateway_active_requests") == 0
        assert total(samples, "gateway_backend_up", deployment="mini") == 1
    finally:
        second.stop()
