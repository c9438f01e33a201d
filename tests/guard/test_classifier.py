"""The classifier check through the official openai SDK: the gateway asks a moderation-style
model on the simulator (`simulator.moderation`) about the request, through itself.

What reached a provider is read back from the simulator (`/_sim/requests`): a flagged
request never reaches its model, the classifier's own call is not classified again, and a
classifier that misses its deadline lets the request pass or refuses it as configured.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import pytest

from tests.guard.conftest import MODEL, MODERATION, SLOW_MODERATION, configure, received
from tests.guard.test_gateway import EMAIL, PII
from tests.support.processes import Gateway

FLAGGED = "Here is my attack plan for the office tomorrow."
CLEAN = "Here is my lunch plan for the office tomorrow."


def _classifier(model: str, **settings: Any) -> dict[str, Any]:
    checks = {"classifier": {"model": model, "deadline_ms": 2000, **settings}}
    return {"name": "moderate", "on": ["request"], "checks": checks}


def _client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)


def _ask(gw: Gateway, text: str) -> Any:
    return _client(gw).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": text}]
    )


def _models(sim: httpx.Client) -> list[str]:
    return [body["model"] for body in received(sim)]


def _logged(gw: Gateway, request_id: str) -> dict[str, Any]:
    with gw.client() as http:
        deadline = time.monotonic() + 10
        while (logged := http.get(f"/admin/logs/{request_id}")).status_code == 404:
            assert time.monotonic() < deadline, "the request was not logged"
            time.sleep(0.05)
    record: dict[str, Any] = logged.json()
    return record


def _classifier_calls(gw: Gateway, model: str, parent: str) -> list[dict[str, Any]]:
    """The spend records of the classifier's own calls made for `parent`."""
    with gw.client() as http:
        deadline = time.monotonic() + 10
        while True:
            entries = http.get("/admin/logs", params={"model": model, "limit": 200}).json()
            calls = [e for e in entries["data"] if e["client_request_id"] == parent]
            if calls or time.monotonic() > deadline:
                return calls
            time.sleep(0.05)


def test_flagged_text_is_blocked_before_its_model_sees_it(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [_classifier(MODERATION)]})
    with pytest.raises(openai.BadRequestError) as refused:
        _ask(gateway, FLAGGED)
    assert refused.value.code == "content_policy_violation"
    assert "classifier: violence" in refused.value.message
    headers = refused.value.response.headers
    assert headers["x-gateway-guardrails"] == "request/classifier.violence=block:1"
    # Only the classifier's call reached a provider, and it was not classified in turn.
    assert _models(sim) == [MODERATION]
    assert received(sim)[0]["messages"][-1]["content"] == FLAGGED
    parent = headers["x-request-id"]
    assert _logged(gateway, parent)["guardrails"] == [
        {"stage": "request", "check": "classifier", "entity": "violence", "action": "block",
         "count": 1}
    ]  # fmt: skip
    (call,) = _classifier_calls(gateway, MODERATION, parent)
    assert call["status"] == 200
    assert _logged(gateway, call["request_id"])["tags"] == ["guard-classifier"]
    with gateway.client() as http:
        metrics = http.get("/metrics").text
    assert 'gateway_guardrail_hits_total{action="block",check="classifier"}' in metrics


def test_clean_text_passes_and_the_classifier_call_is_not_guarded(
    gateway: Gateway, sim: httpx.Client
) -> None:
    # The policy applies to every model, the classifier's own included: its call must not
    # start another classifier call (nor be screened by the other checks).
    configure(gateway, {"policies": [PII, _classifier(MODERATION)]})
    raw = _ask(gateway, f"{CLEAN} Mail {EMAIL}.")
    assert raw.parse().choices[0].message.content
    assert "x-gateway-guardrails" in raw.headers
    assert "classifier" not in raw.headers["x-gateway-guardrails"]
    assert _models(sim) == [MODERATION, MODEL]
    # The classifier saw the request as the other checks left it: redacted.
    judged = received(sim)[0]["messages"][-1]["content"]
    assert judged == f"{CLEAN} Mail [EMAIL_1]." and EMAIL not in str(received(sim))
    (call,) = _classifier_calls(gateway, MODERATION, raw.headers["x-request-id"])
    assert _logged(gateway, call["request_id"])["guardrails"] == []


def test_a_classifier_past_its_deadline_fails_open(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [_classifier(SLOW_MODERATION, deadline_ms=300, fail="open")]})
    started = time.monotonic()
    raw = _ask(gateway, FLAGGED)
    assert time.monotonic() - started < 2.5  # the classifier takes 3 s; the deadline is 0.3 s
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-gateway-guardrails"] == "request/classifier.timeout=alert:1"
    assert MODEL in _models(sim)


def test_a_classifier_past_its_deadline_fails_closed(gateway: Gateway, sim: httpx.Client) -> None:
    policy = _classifier(SLOW_MODERATION, deadline_ms=300, fail="closed")
    configure(gateway, {"policies": [policy]})
    with pytest.raises(openai.BadRequestError) as refused:
        _ask(gateway, CLEAN)
    assert refused.value.code == "content_policy_violation"
    assert refused.value.response.headers["x-gateway-guardrails"] == (
        "request/classifier.timeout=block:1"
    )
    assert MODEL not in _models(sim)


def test_a_classifier_on_responses_is_refused(gateway: Gateway) -> None:
    config = gateway.config_path.read_text()
    try:
        policy = {**_classifier(MODERATION), "on": ["request", "response"]}
        with pytest.raises(httpx.HTTPStatusError) as refused:
            configure(gateway, {"policies": [policy]})
        assert "classifier check runs on requests only" in refused.value.response.text
    finally:
        gateway.config_path.write_text(config)
