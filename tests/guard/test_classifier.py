"""The classifier check through the official openai SDK: the gateway asks a moderation-style
model on the simulator (`simulator.moderation`) about the request or the answer, through
itself.

What reached a provider is read back from the simulator (`/_sim/requests`): a flagged
request never reaches its model, the classifier's own call is not classified again, and a
classifier that misses its deadline lets the request pass or refuses it as configured. On
answers (the simulator's answer quotes the prompt, so a prompt's words reach the answer): a
flagged answer is withheld, a blocking classifier holds a stream until it is judged, an
alerting one judges it after it has flowed.
"""

from __future__ import annotations

import json
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


def _classifier(model: str, on: str = "request", **settings: Any) -> dict[str, Any]:
    checks = {"classifier": {"model": model, "deadline_ms": 2000, **settings}}
    return {"name": "moderate", "on": [on], "checks": checks}


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


def _violence(stage: str, action: str) -> dict[str, Any]:
    """The spend log's entry for one violence verdict."""
    return {
        "stage": stage,
        "check": "classifier",
        "entity": "violence",
        "action": action,
        "count": 1,
    }


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
    assert _logged(gateway, parent)["guardrails"] == [_violence("request", "block")]
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


def test_a_flagged_answer_is_withheld(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [_classifier(MODERATION, on="response")]})
    with pytest.raises(openai.BadRequestError) as refused:
        _ask(gateway, FLAGGED)
    assert refused.value.code == "content_policy_violation"
    assert "response was blocked" in refused.value.message
    headers = refused.value.response.headers
    assert headers["x-gateway-guardrails"] == "response/classifier.violence=block:1"
    # The request went to its model (a response policy does not judge requests), and the
    # classifier judged the model's answer.
    assert _models(sim) == [MODEL, MODERATION]
    judged = received(sim)[1]["messages"][-1]["content"]
    assert judged.startswith("Simulated reply to:") and "attack plan" in judged
    assert _logged(gateway, headers["x-request-id"])["guardrails"] == [
        _violence("response", "block")
    ]
    # A clean answer is judged and passes.
    raw = _ask(gateway, CLEAN)
    assert raw.parse().choices[0].message.content
    assert "x-gateway-guardrails" not in raw.headers
    assert _models(sim)[2:] == [MODEL, MODERATION]


def test_an_alerting_classifier_on_answers_passes_them(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [_classifier(MODERATION, on="response", action="alert")]})
    raw = _ask(gateway, FLAGGED)
    assert "attack plan" in (raw.parse().choices[0].message.content or "")
    assert raw.headers["x-gateway-guardrails"] == "response/classifier.violence=alert:1"


def test_a_blocking_classifier_holds_a_stream_and_judges_it_redacted(
    gateway: Gateway, sim: httpx.Client
) -> None:
    # The answer quotes the prompt: the model saw [EMAIL_1], the client gets the address
    # back, and the classifier judges what the model wrote (the placeholder).
    configure(gateway, {"policies": [PII, _classifier(MODERATION, on="response")]})
    with pytest.raises(openai.BadRequestError) as refused:
        _client(gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"{EMAIL} {FLAGGED}"}], stream=True
        )
    # Nothing of it went out: the client got a 400, not a stream.
    assert refused.value.code == "content_policy_violation"
    assert refused.value.response.headers["x-gateway-guardrails"] == (
        "request/pii.email=redact:1, response/classifier.violence=block:1"
    )
    judged = received(sim)[1]["messages"][-1]["content"]
    assert "[EMAIL_1]" in judged and EMAIL not in judged
    # A clean stream arrives whole once judged, the address restored.
    chunks = list(
        _client(gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"{EMAIL} {CLEAN}"}], stream=True
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith(f"Simulated reply to: {EMAIL} Here is my lunch plan")
    assert _models(sim)[2:] == [MODEL, MODERATION]


def test_a_held_stream_can_be_kept_alive_while_it_is_judged(
    gateway: Gateway, sim: httpx.Client
) -> None:
    # The classifier takes 3 s: the stream starts at once and says so every 0.5 s.
    policy = _classifier(SLOW_MODERATION, on="response", deadline_ms=10_000)
    configure(gateway, {"held_keepalive_s": 0.5, "policies": [policy]})
    body = {"model": MODEL, "stream": True, "messages": [{"role": "user", "content": CLEAN}]}
    with gateway.client() as http, http.stream("POST", "/v1/chat/completions", json=body) as got:
        assert got.status_code == 200
        streamed = b"".join(got.iter_bytes())
    # The comments came before any of the answer, which came whole once judged.
    comments, _, answer = streamed.partition(b"data: ")
    assert comments.count(b": keep-alive\n\n") >= 3 and comments.strip(b": keep-alive\n") == b""
    chunks = [
        json.loads(f[6:]) for f in (b"data: " + answer).split(b"\n\n") if f.startswith(b"data: {")
    ]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text.startswith("Simulated reply to: Here is my lunch plan") and answer.endswith(
        b"[DONE]\n\n"
    )
    # A refusal is then the stream's error event: nothing of the answer went out.
    stream = _client(gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": FLAGGED}], stream=True
    )
    seen: list[str] = []
    with pytest.raises(openai.APIError) as refused:
        for chunk in stream:
            seen.extend(c.delta.content or "" for c in chunk.choices)
    assert "content policy" in refused.value.message and "violence" in refused.value.message
    assert "".join(seen) == ""
    events = list(_client(gateway).responses.create(model=MODEL, input=FLAGGED, stream=True))
    assert [(e.type, e.code) for e in events] == [("error", "content_policy_violation")]
    assert _models(sim) == [MODEL, SLOW_MODERATION] * 3


def test_a_held_responses_stream_is_refused_and_not_stored(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [_classifier(MODERATION, on="response")]})
    with pytest.raises(openai.BadRequestError) as refused:
        _client(gateway).responses.create(model=MODEL, input=FLAGGED, stream=True)
    assert refused.value.code == "content_policy_violation"
    events = list(_client(gateway).responses.create(model=MODEL, input=CLEAN, stream=True))
    assert events[-1].type == "response.completed"
    assert _client(gateway).responses.retrieve(events[-1].response.id).output_text
    assert _models(sim) == [MODEL, MODERATION, MODEL, MODERATION]
    with gateway.client() as http:
        stored = http.get("/admin/logs", params={"model": MODEL, "limit": 5}).json()["data"]
    assert [entry["status"] for entry in stored[:2]] == [200, 400]


def test_an_alerting_classifier_judges_a_stream_once_it_has_flowed(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [_classifier(MODERATION, on="response", action="alert")]})
    raw = _client(gateway).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": FLAGGED}], stream=True
    )
    # The headers left before the verdict; the stream came whole.
    assert "x-gateway-guardrails" not in raw.headers
    text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert "attack plan" in text
    assert _logged(gateway, raw.headers["x-request-id"])["guardrails"] == [
        _violence("response", "alert")
    ]
    assert _models(sim) == [MODEL, MODERATION]
