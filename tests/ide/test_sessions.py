"""An agent run through `model: "auto"`, step by step in `/admin/sessions`.

Six tool-calling steps (four chat completions carrying `x-session-id`, two Responses API
calls carrying `metadata.session_id`), routed by the real router-service: each step shows
the model that answered it, and the steps' costs add up to the session's total.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest

from tests.llm_proxy.conftest import backend
from tests.router_service.service_process import running_service
from tests.router_service.test_route import HARD, TRIVIAL
from tests.support.processes import Gateway, Simulator, start_gateway

_TOOL = {
    "type": "function",
    "function": {
        "name": "run_tests",
        "description": "Run the project's tests",
        "parameters": {"type": "object", "properties": {"path": {"type": "string"}}},
    },
}


@pytest.fixture(scope="module")
def auto_gateway(
    simulator: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    prices = {"input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.6}
    strong_prices = {"input_cost_per_mtok": 2.5, "output_cost_per_mtok": 10.0}
    with running_service() as router_url:
        config = {
            "backends": [
                backend(simulator, "weak", "gpt-4o-mini", **prices),
                backend(simulator, "strong", "gpt-4o", **strong_prices),
            ],
            "routing": {
                "auto_groups": {"auto": {"default": "gpt-4o-mini", "strong": "gpt-4o"}},
                "router_service": {"url": router_url, "deadline_ms": 2000},
            },
        }
        gw = start_gateway(config, tmp_path_factory.mktemp("sessions"))
        yield gw
        gw.stop()


def _wait_for(check: Callable[[], Any], timeout_s: float = 30) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_a_six_step_tool_calling_session_through_auto(auto_gateway: Gateway) -> None:
    session = f"agent-{uuid.uuid4().hex[:8]}"
    client = openai.OpenAI(base_url=auto_gateway.v1, api_key=auto_gateway.master_key)
    headers = {"x-session-id": session}
    routed: list[str] = []
    called: list[list[str]] = []
    for prompt in (HARD, TRIVIAL):
        messages: list[Any] = [{"role": "user", "content": prompt}]
        first = client.chat.completions.with_raw_response.create(
            model="auto", messages=messages, tools=[_TOOL], extra_headers=headers
        )
        call = first.parse().choices[0].message.tool_calls[0]  # type: ignore[index]
        routed.append(first.headers["x-gateway-model"])
        called.append(["run_tests"])
        messages += [
            {"role": "assistant", "tool_calls": [call.model_dump()]},
            {"role": "tool", "tool_call_id": call.id, "content": "2 failed"},
        ]
        second = client.chat.completions.with_raw_response.create(
            model="auto", messages=messages, tools=[_TOOL], extra_headers=headers
        )
        routed.append(second.headers["x-gateway-model"])
        called.append([])
    tool = {"type": "function", **_TOOL["function"]}
    metadata = {"session_id": session}
    third = client.responses.with_raw_response.create(
        model="auto", input=HARD, tools=[tool], metadata=metadata
    )
    function_call = third.parse().output[0]
    assert function_call.type == "function_call"
    routed.append(third.headers["x-gateway-model"])
    called.append(["run_tests"])
    fourth = client.responses.with_raw_response.create(
        model="auto",
        previous_response_id=third.parse().id,
        input=[{"type": "function_call_output", "call_id": function_call.call_id, "output": "ok"}],
        tools=[tool],
        metadata=metadata,
    )
    routed.append(fourth.headers["x-gateway-model"])
    called.append([])
    # The router tells the hard task from the small talk.
    assert routed[0] == "gpt-4o" and routed[2] == "gpt-4o-mini"

    with auto_gateway.client() as admin:
        detail = _wait_for(
            lambda: (
                (r := admin.get(f"/admin/sessions/{session}")).status_code == 200
                and len(r.json()["steps"]) == 6
                and r.json()
            )
        )
        listed = admin.get("/admin/sessions").json()["data"]
        missing = admin.get("/admin/sessions/no-such-session")
    assert detail, "the session's six steps were not logged"
    steps = detail["steps"]
    assert [s["step"] for s in steps] == [1, 2, 3, 4, 5, 6]
    assert [s["model_routed"] for s in steps] == routed
    assert all(s["model_requested"] == "auto" and s["routed_from"] == "auto" for s in steps)
    assert [s["tool_calls"] for s in steps] == called
    assert [s["api"] for s in steps] == ["chat"] * 4 + ["responses"] * 2
    assert all(s["cost_usd"] > 0 for s in steps)
    totals = detail["totals"]
    assert totals["steps"] == 6
    assert totals["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in steps))
    assert totals["prompt_tokens"] == sum(s["prompt_tokens"] for s in steps)
    summary = next(s for s in listed if s["id"] == session)
    assert summary["steps"] == 6 and summary["cost_usd"] == pytest.approx(totals["cost_usd"])
    assert summary["models"] == ["gpt-4o", "gpt-4o-mini"]
    assert missing.status_code == 404
