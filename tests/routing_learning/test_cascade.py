"""`strategy: cascade`: the weak model answers first; a verifier signal escalates to the strong."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.policies.conftest import log_record
from tests.routing_learning.conftest import (
    STRONG,
    WEAK,
    gateway_config,
    labels,
    started,
    wait_for_labels,
)
from tests.simulator.test_sim_openai import WEATHER_TOOL
from tests.support.processes import Gateway, Simulator

JSON_ANSWER = {"type": "json_object"}
SCHEMA_ANSWER = {
    "type": "json_schema",
    "json_schema": {
        "name": "city",
        "schema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    groups = {
        "cascade": {"default": WEAK, "strong": STRONG, "strategy": "cascade"},
        "refusals-only": {
            "default": WEAK,
            "strong": STRONG,
            "strategy": "cascade",
            "cascade": {"signals": ["refusal"], "label": False},
        },
    }
    gateway = started(gateway_config(simulator, groups), database, tmp_path_factory.mktemp("gw"))
    yield gateway
    gateway.stop()


def _ask(gw: Gateway, model: str = "cascade", **extra: Any) -> Any:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "Weather in Paris?"}], **extra
    )


def _route(raw: Any) -> dict[str, str]:
    parts = raw.headers["x-gateway-route"].split(";")
    return dict(part.strip().split("=", 1) for part in parts)


def _models_asked(sim: httpx.Client) -> list[str]:
    recent = sim.get("/_sim/requests").json()["requests"]
    return [r["model"] for r in recent if r["path"] == "/v1/chat/completions"]


# Each verifier signal, the simulator's answer fault that shows it, and the request it needs.
SIGNALS: dict[str, tuple[str, dict[str, Any]]] = {
    "refusal": ("refusal", {}),
    "uncertainty": ("uncertain", {}),
    "truncation": ("length", {}),
    "json_schema": ("bad_json", {"response_format": JSON_ANSWER}),
    "json_schema/schema": ("bad_json", {"response_format": SCHEMA_ANSWER}),
    "tool_call/arguments": ("bad_tool_args", {"tools": [WEATHER_TOOL]}),
    "tool_call/unknown": ("unknown_tool", {"tools": [WEATHER_TOOL]}),
}


@pytest.mark.parametrize("case", sorted(SIGNALS))
def test_each_verifier_signal_escalates_to_the_strong_model(
    case: str, gw: Gateway, sim: httpx.Client, database: str
) -> None:
    fault, request = SIGNALS[case]
    signal = case.split("/")[0]
    sim.post("/_sim/faults", json={"fault": fault, "model": WEAK}).raise_for_status()
    raw = _ask(gw, **request)
    assert raw.headers["x-gateway-model"] == STRONG
    route = _route(raw)
    assert (route["router"], route["escalated"], route["from"]) == ("cascade", signal, WEAK)
    assert _models_asked(sim) == [WEAK, STRONG]
    # The client gets the strong model's answer, whole and valid.
    answer = raw.parse()
    assert answer.choices[0].finish_reason in ("stop", "tool_calls")

    request_id = raw.headers["x-request-id"]
    entry = log_record(gw, request_id)
    assert entry["escalation"] == signal and entry["escalated_from"] == WEAK
    assert entry["model_routed"] == STRONG
    first_cost = entry["escalation_cost_usd"]
    assert first_cost > 0 and float(route["first_cost_usd"]) == pytest.approx(first_cost, abs=1e-8)
    # Both answers are charged: the strong one's cost on top of the weak one's.
    assert entry["cost_usd"] > first_cost
    assert entry["cost_strong_usd"] == pytest.approx(entry["cost_usd"] - first_cost)
    assert entry["completion_tokens"] > answer.usage.completion_tokens
    [label] = wait_for_labels(database, request_id)
    assert label["source"] == "cascade" and label["strong_wins"] == 1.0
    assert label["routed_model"] == STRONG and label["detail"]["signal"] == signal


@pytest.mark.parametrize(
    "request_",
    [
        {},
        {"response_format": JSON_ANSWER},
        {"response_format": SCHEMA_ANSWER},
        {"tools": [WEATHER_TOOL]},
    ],
    ids=["text", "json", "schema", "tool"],
)
def test_a_sufficient_weak_answer_stands(
    request_: dict[str, Any], gw: Gateway, sim: httpx.Client, database: str
) -> None:
    raw = _ask(gw, **request_)
    assert raw.headers["x-gateway-model"] == WEAK
    assert _route(raw) == {
        "group": "cascade",
        "model": WEAK,
        "router": "cascade",
        "escalated": "no",
    }
    assert _models_asked(sim) == [WEAK]
    entry = log_record(gw, raw.headers["x-request-id"])
    assert entry["escalation"] is None and entry["escalation_cost_usd"] is None


def test_only_the_configured_signals_escalate(
    gw: Gateway, sim: httpx.Client, database: str
) -> None:
    sim.post("/_sim/faults", json={"fault": "uncertain", "model": WEAK}).raise_for_status()
    raw = _ask(gw, "refusals-only")
    assert raw.headers["x-gateway-model"] == WEAK
    sim.post("/_sim/faults", json={"fault": "refusal", "model": WEAK}).raise_for_status()
    raw = _ask(gw, "refusals-only")
    assert raw.headers["x-gateway-model"] == STRONG
    log_record(gw, raw.headers["x-request-id"])  # labels are written with the log, or sooner
    assert labels(database, raw.headers["x-request-id"]) == []  # label: false


def test_a_strong_model_that_cannot_answer_leaves_the_weak_answer(
    gw: Gateway, sim: httpx.Client
) -> None:
    sim.post("/_sim/faults", json={"fault": "refusal", "model": WEAK}).raise_for_status()
    sim.post("/_sim/faults", json={"fault": "400", "model": STRONG}).raise_for_status()
    raw = _ask(gw)
    assert raw.headers["x-gateway-model"] == WEAK
    assert "can't help" in raw.parse().choices[0].message.content


def test_streamed_requests_are_not_cascaded(gw: Gateway, sim: httpx.Client) -> None:
    sim.post("/_sim/faults", json={"fault": "refusal", "model": WEAK}).raise_for_status()
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="cascade", messages=[{"role": "user", "content": "hi"}], stream=True
    ) as response:
        assert response.headers["x-gateway-model"] == WEAK
        assert "fallback=" in response.headers["x-gateway-route"]
