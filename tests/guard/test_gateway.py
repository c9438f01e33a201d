"""The guard through the official SDKs, against the gateway and the simulator on loopback.

What the upstream received is read back from the simulator (`/_sim/requests`): redacted
values never reach it, a blocked request does not reach it at all.
"""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.guard.conftest import FAST_SUBWORD, MODEL, SUBWORD, configure, received
from tests.support.processes import Gateway

EMAIL, PHONE = "jane.doe@example.com", "+1 415 555 2671"
CARD = "4111 1111 1111 1111"
PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY----- MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7 "
    "-----END PRIVATE KEY-----"
)
PII = {
    "name": "pii",
    "on": ["request"],
    "checks": {
        "pii": {
            "entities": ["email", "phone", "credit_card", "iban", "us_ssn", "ip_address", "secret"],
            "action": "redact",
            "restore": True,
        }
    },
}
DENY = {
    "name": "deny",
    "on": ["request", "response"],
    "checks": {"deny_list": {"words": ["project falcon"], "action": "block"}},
}


def _openai(gw: Gateway, key: str | None = None) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=key or gw.master_key, max_retries=0)


def _anthropic(gw: Gateway) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gw.url, api_key=gw.master_key, max_retries=0)


def _user_text(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def test_redacted_upstream_and_restored_in_the_answer(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [PII, DENY]})
    raw = _openai(gateway).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": f"{EMAIL} {PHONE} card {CARD}"}]
    )
    answer = raw.parse().choices[0].message.content or ""
    upstream = _user_text(received(sim)[-1])
    assert upstream == "[EMAIL_1] [PHONE_1] card [CREDIT_CARD_1]"
    # The simulator quotes the prompt it got; the gateway put the originals back.
    assert f"{EMAIL} {PHONE} card {CARD}" in answer and "[EMAIL_1]" not in answer
    header = raw.headers["x-gateway-guardrails"]
    assert "request/pii.email=redact:1" in header and "request/pii.phone=redact:1" in header
    assert EMAIL not in header


def test_streamed_answers_are_restored_too(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [PII]})
    stream = _openai(gateway).chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": f"mail {EMAIL} now"}]
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert _user_text(received(sim)[-1]) == "mail [EMAIL_1] now"
    assert f"mail {EMAIL} now" in text and "[EMAIL_1]" not in text


def test_anthropic_messages_are_redacted_and_restored(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [PII]})
    message = _anthropic(gateway).messages.create(
        model=MODEL, max_tokens=64, messages=[{"role": "user", "content": f"call {PHONE} please"}]
    )
    upstream = received(sim)[-1]["messages"][-1]["content"]
    assert "[PHONE_1]" in str(upstream) and "415" not in str(upstream)
    text = "".join(block.text for block in message.content if block.type == "text")
    assert PHONE in text


def test_a_block_sends_nothing_upstream(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [PII, DENY]})
    with pytest.raises(openai.BadRequestError) as refused:
        _openai(gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "status of Project Falcon?"}]
        )
    assert refused.value.code == "content_policy_violation"
    assert "deny_list" in refused.value.message
    with pytest.raises(anthropic.BadRequestError) as also:
        _anthropic(gateway).messages.create(
            model=MODEL, max_tokens=16, messages=[{"role": "user", "content": "PROJECT FALCON"}]
        )
    assert also.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]
    assert received(sim) == []
    # A word that merely contains the phrase is not it.
    _openai(gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "project falconry club"}]
    )
    assert len(received(sim)) == 1


@pytest.mark.parametrize("api", ["chat", "messages"])
def test_a_secret_split_across_chunks_is_redacted(
    gateway: Gateway, sim: httpx.Client, api: str
) -> None:
    secrets = {"name": "secrets", "on": ["response"], "checks": {"secrets": {"action": "redact"}}}
    configure(gateway, {"policies": [secrets]})
    prompt = f"{PRIVATE_KEY} thanks"
    if api == "chat":
        stream = _openai(gateway).chat.completions.create(
            model=MODEL, stream=True, messages=[{"role": "user", "content": prompt}]
        )
        deltas = [c.choices[0].delta.content or "" for c in stream if c.choices]
    else:
        with _anthropic(gateway).messages.stream(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": prompt}]
        ) as events:
            deltas = list(events.text_stream)
    text = "".join(deltas)
    # The request went up as it was (the policy is on responses only) and the simulator
    # streamed the key back a word per chunk; none of it reached the client.
    assert "BEGIN PRIVATE KEY" in str(received(sim)[-1]["messages"])
    assert "[SECRET_1]" in text
    assert "MIIEvQ" not in text and "PRIVATE KEY" not in text
    assert text.startswith("Simulated reply to: [SECRET_1] thanks")


@pytest.mark.parametrize(
    ("prompt", "value", "placeholder"),
    [
        # The one frame that ends before the cut's space ends inside the address, and the
        # next window began mid-word ("ver 131.…" reads as a version): both went out.
        ("from aoconnor@example.com; The deployment finished", "aoconnor@example.com", "EMAIL"),
        ("into French. server 131.214.182.107 <td>", "131.214.182.107", "IP_ADDRESS"),
    ],
)
def test_values_cut_mid_token_in_a_slow_stream_are_redacted(
    gateway: Gateway, sim: httpx.Client, prompt: str, value: str, placeholder: str
) -> None:
    pii = {"name": "pii", "on": ["response"], "checks": {"pii": {"action": "redact"}}}
    configure(gateway, {"policies": [pii]})
    stream = _openai(gateway).chat.completions.create(
        model=SUBWORD, stream=True, messages=[{"role": "user", "content": prompt}]
    )
    deltas = [c.choices[0].delta.content or "" for c in stream if c.choices]
    text = "".join(deltas)
    # Pieces as the model cut them (a redacted run comes as one, its placeholder).
    assert sum(len(delta) <= 4 for delta in deltas) > 20
    assert value in str(received(sim)[-1]["messages"])
    assert f"[{placeholder}_1]" in text and value not in text
    assert text.startswith("Simulated reply to: ")


def _streamed_text(gw: Gateway, api: str, model: str, prompt: str) -> tuple[str, int]:
    """The text a stream of `api` brought the client, and in how many deltas."""
    if api == "chat":
        stream = _openai(gw).chat.completions.create(
            model=model, stream=True, messages=[{"role": "user", "content": prompt}]
        )
        deltas = [c.choices[0].delta.content or "" for c in stream if c.choices]
    elif api == "messages":
        with _anthropic(gw).messages.stream(
            model=model, max_tokens=256, messages=[{"role": "user", "content": prompt}]
        ) as events:
            deltas = list(events.text_stream)
    else:
        events = _openai(gw).responses.create(model=model, input=prompt, stream=True)
        deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    return "".join(deltas), len(deltas)


FAST_PROMPT = f"mail {EMAIL} card {CARD} now"
FAST_REDACTED = "Simulated reply to: mail [EMAIL_1] card [CREDIT_CARD_1] now"


@pytest.mark.parametrize("api", ["chat", "messages", "responses"])
def test_values_in_pieces_of_a_fast_stream_are_redacted(
    gateway: Gateway, sim: httpx.Client, api: str
) -> None:
    # Faster than the guard gathers: the transport hands it many reads' frames at once, and
    # each value spans several reads.
    pii = {"name": "pii", "on": ["response"], "checks": {"pii": {"action": "redact"}}}
    configure(gateway, {"policies": [pii]})
    text, deltas = _streamed_text(gateway, api, FAST_SUBWORD, FAST_PROMPT)
    assert EMAIL in json.dumps(received(sim)[-1])
    assert text.startswith(FAST_REDACTED)
    assert "jane" not in text and "1111" not in text
    # Redacted in place: the pieces after the values went out as they came.
    assert deltas > 40


def test_a_broken_stream_still_brings_what_was_safe(gateway: Gateway, sim: httpx.Client) -> None:
    pii = {"name": "pii", "on": ["response"], "checks": {"pii": {"action": "redact"}}}
    configure(gateway, {"policies": [pii]})
    # A malformed event halfway: the pieces before it (about 250 characters) came in a few
    # reads, faster than the guard gathers them.
    sim.post(
        "/_sim/faults", json={"fault": "malformed", "count": 1, "model": FAST_SUBWORD}
    ).raise_for_status()
    stream = _openai(gateway).chat.completions.create(
        model=FAST_SUBWORD, stream=True, messages=[{"role": "user", "content": FAST_PROMPT}]
    )
    seen: list[str] = []
    with pytest.raises(openai.APIError, match="malformed"):
        for chunk in stream:
            if chunk.choices:
                seen.append(chunk.choices[0].delta.content or "")
    # What the window no longer held went out before the error.
    text = "".join(seen)
    assert text.startswith(FAST_REDACTED)
    assert len(text) > 120 and "jane" not in text


def test_a_blocked_stream_ends_with_an_error_event(gateway: Gateway, sim: httpx.Client) -> None:
    deny = {**DENY, "on": ["response"]}
    configure(gateway, {"policies": [deny]})
    stream = _openai(gateway).chat.completions.create(
        model=MODEL, stream=True, messages=[{"role": "user", "content": "about project falcon"}]
    )
    seen: list[str] = []
    with pytest.raises(openai.APIError) as ended:
        for chunk in stream:
            if chunk.choices:
                seen.append(chunk.choices[0].delta.content or "")
    assert "content policy" in ended.value.message
    assert "falcon" not in "".join(seen).lower()
    assert len(received(sim)) == 1


def test_a_team_override_beats_the_global_policy(gateway: Gateway, sim: httpx.Client) -> None:
    with gateway.client() as http:
        team = http.post("/admin/teams", json={"name": f"strict-{time.time_ns()}"}).json()
        key = http.post("/admin/keys", json={"team_id": team["id"]}).json()["key"]
    strict = {**PII, "checks": {"pii": {"entities": ["email"], "action": "block"}}}
    override = {"team": team["id"], "policies": [strict]}
    configure(gateway, {"policies": [PII], "overrides": [override]})
    content = f"reach {EMAIL}"
    with pytest.raises(openai.BadRequestError):
        _openai(gateway, key).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": content}]
        )
    assert received(sim) == []
    _openai(gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": content}]
    )
    assert _user_text(received(sim)[-1]) == "reach [EMAIL_1]"


def test_a_catastrophic_regex_runs_in_linear_time(gateway: Gateway, sim: httpx.Client) -> None:
    rule = {"name": "a_run", "pattern": "(a+)+$"}
    regex = {"name": "regex", "checks": {"regex": {"rules": [rule], "action": "block"}}}
    configure(gateway, {"policies": [regex]})
    # A backtracking engine needs ~2^10000 steps to fail on this; RE2 scans it once.
    client = _openai(gateway).with_options(timeout=20)
    client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "a" * 10_000 + "!"}]
    )
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "b" + "a" * 10_000}]
        )
    assert len(received(sim)) == 1


def test_the_spend_log_and_metrics_name_the_checks_never_the_text(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [PII]})
    raw = _openai(gateway).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": f"{EMAIL} and {EMAIL}"}]
    )
    request_id = raw.headers["x-request-id"]
    with gateway.client() as http:
        deadline = time.monotonic() + 10
        while (logged := http.get(f"/admin/logs/{request_id}")).status_code == 404:
            assert time.monotonic() < deadline, "the request was not logged"
            time.sleep(0.05)
        metrics = http.get("/metrics").text
    record = logged.json()
    assert record["guardrails"] == [
        {"stage": "request", "check": "pii", "entity": "email", "action": "redact", "count": 2}
    ]
    assert EMAIL not in logged.text
    assert 'gateway_guardrail_hits_total{action="redact",check="pii"}' in metrics


def test_bad_policies_are_refused_with_their_place(gateway: Gateway) -> None:
    config = gateway.config_path.read_text()
    try:
        rule = {"name": "bad", "pattern": "(a)\\1"}
        bad = {"policies": [{"name": "r", "checks": {"regex": {"rules": [rule]}}}]}
        with pytest.raises(httpx.HTTPStatusError) as refused:
            configure(gateway, bad)
        assert "not an RE2 pattern" in refused.value.response.text
    finally:
        gateway.config_path.write_text(config)


def test_legacy_completions_are_redacted_and_restored(gateway: Gateway, sim: httpx.Client) -> None:
    configure(gateway, {"policies": [PII]})
    client = _openai(gateway)
    completion = client.completions.create(model=MODEL, prompt=f"mail {EMAIL} now", max_tokens=16)
    assert received(sim)[-1]["prompt"] == "mail [EMAIL_1] now"
    assert EMAIL in completion.choices[0].text
    streamed = client.completions.create(
        model=MODEL, prompt=f"mail {EMAIL} now", max_tokens=16, stream=True
    )
    text = "".join(chunk.choices[0].text for chunk in streamed if chunk.choices)
    assert received(sim)[-1]["prompt"] == "mail [EMAIL_1] now"
    assert EMAIL in text and "[EMAIL_1]" not in text


def _stored_input(gw: Gateway, response_id: str) -> Any:
    """A stored response's input items, read from the gateway's own database (its SQLite
    file): the API serves the response, not what it keeps of the input."""
    database = gw.config_path.with_suffix(".db")
    deadline = time.monotonic() + 10
    while True:
        with sqlite3.connect(database) as connection:
            row = connection.execute(
                "SELECT input_items FROM stored_responses WHERE id = ?", (response_id,)
            ).fetchone()
        if row is not None:
            return json.loads(row[0])
        assert time.monotonic() < deadline, "the response was not stored"
        time.sleep(0.05)


def test_responses_are_redacted_upstream_and_stored_redacted(
    gateway: Gateway, sim: httpx.Client
) -> None:
    configure(gateway, {"policies": [PII]})
    client = _openai(gateway)
    response = client.responses.create(
        model=MODEL, instructions=f"The caller is {PHONE}.", input=f"mail {EMAIL} now"
    )
    upstream = json.dumps(received(sim)[-1])
    assert EMAIL not in upstream and PHONE not in upstream
    assert "[EMAIL_1]" in upstream and "[PHONE_1]" in upstream
    # The simulator quotes the prompt; the client gets the originals back ...
    assert EMAIL in response.output_text and "[EMAIL_1]" not in response.output_text
    # ... and what the gateway keeps of the conversation is what went upstream.
    stored = client.responses.retrieve(response.id)
    assert EMAIL not in stored.output_text and "[EMAIL_1]" in stored.output_text
    assert _stored_input(gateway, response.id) == [
        {"type": "message", "role": "user", "content": "mail [EMAIL_1] now"}
    ]
    follow_up = client.responses.create(
        model=MODEL, previous_response_id=response.id, input="and again"
    )
    assert EMAIL not in json.dumps(received(sim)[-1]) and follow_up.output_text
