"""The gateway counts a prompt only where something reads the count, and there it always does.

Counted when configured: a context window that sends a long prompt to a bigger model, and
a deployment's max_tpm, which holds a request's prompt while it is in flight. (The limits'
tpm counting is in tests/limits, the spend log's count of an unreported prompt in
tests/control/test_spend.py.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
from llm_proxy.pipeline.tokens import estimate_prompt_tokens

from tests.llm_proxy.conftest import backend
from tests.support.processes import Gateway, Simulator

MakeGateway = Callable[[dict[str, Any]], Gateway]

# About 600 tokens of prompt.
LONG = "lorem " * 600


def ask(gw: Gateway, model: str, content: str, max_tokens: int = 5) -> httpx.Response:
    body = {
        "model": model,
        "messages": [{"role": "user", "content": content}],
        "max_tokens": max_tokens,
    }
    with gw.client() as http:
        return http.post("/v1/chat/completions", json=body, timeout=30)


def test_a_prompt_longer_than_the_context_window_goes_to_the_bigger_model(
    simulator: Simulator, make_gateway: MakeGateway
) -> None:
    gw = make_gateway(
        {
            "backends": [
                backend(simulator, "small", "m-small", context_window=500),
                backend(simulator, "big", "m-big"),
            ],
            "routing": {"context_window_fallbacks": {"m-small": "m-big"}},
        }
    )
    assert estimate_prompt_tokens({"messages": [{"role": "user", "content": LONG}]}) > 500
    short = ask(gw, "m-small", "hi")
    assert short.status_code == 200 and short.headers["x-gateway-deployment"] == "small"
    long = ask(gw, "m-small", LONG)
    assert long.status_code == 200 and long.headers["x-gateway-deployment"] == "big"


def test_a_deployment_at_max_tpm_holds_the_prompt_of_a_request_in_flight(
    simulator: Simulator, make_gateway: MakeGateway
) -> None:
    # Two such prompts exceed the quota; one fits. No rate limit or policy is configured:
    # the deployment's own window is the only reader of the count.
    gw = make_gateway(
        {"backends": [backend(simulator, "quota", "m-slow", max_tpm=1000, timeout_s=10)]}
    )
    first: list[httpx.Response] = []
    sent = threading.Thread(target=lambda: first.append(ask(gw, "m-slow", LONG)))
    sent.start()
    deadline = time.monotonic() + 5
    while in_flight(gw, "quota") == 0:
        assert time.monotonic() < deadline, "the first request never reached the deployment"
        time.sleep(0.02)
    held = estimate_prompt_tokens({"messages": [{"role": "user", "content": LONG}]}) + 5
    assert tokens_last_minute(gw, "quota") == held
    # The window holds the first prompt: a second would take it past max_tpm.
    second = ask(gw, "m-slow", LONG)
    assert second.status_code == 503, second.text
    sent.join()
    assert first[0].status_code == 200


def deployment(gw: Gateway, name: str) -> dict[str, Any]:
    with gw.client() as http:
        rows = http.get("/v1/providers/health").json()["data"]
    row: dict[str, Any] = next(row for row in rows if row["deployment"] == name)
    return row


def in_flight(gw: Gateway, name: str) -> int:
    return int(deployment(gw, name)["in_flight"])


def tokens_last_minute(gw: Gateway, name: str) -> int:
    return int(deployment(gw, name)["tokens_last_minute"])
