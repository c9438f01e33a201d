"""One JSON line per request on stdout, with nothing secret in it."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
from llm_proxy.telemetry.logging import REDACTED, JsonFormatter

from tests.telemetry.conftest import MASTER, Plain


def logged(plain: Plain, request_ids: set[str]) -> list[dict[str, Any]]:
    """The request lines for these ids, once all have been written (a thread writes them)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [line for line in plain.log.requests() if line["request_id"] in request_ids]
        if {line["request_id"] for line in lines} == request_ids or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_each_request_leaves_one_line_without_its_key_or_prompt(plain: Plain) -> None:
    gw = plain.gateway
    prompt = f"my secret plan {secrets.token_hex(8)}"
    wrong_key = f"sk-gw-{secrets.token_urlsafe(24)}"
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}
    with httpx.Client(base_url=gw.url, timeout=30) as http:
        answered = http.post(
            "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {MASTER}"}
        )
        by_api_key = http.post("/v1/chat/completions", json=body, headers={"x-api-key": MASTER})
        refused = http.post(
            "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {wrong_key}"}
        )
        unknown = http.post(
            "/v1/chat/completions",
            json={**body, "model": "no-such-model"},
            headers={"x-api-key": MASTER},
        )
    responses = [answered, by_api_key, refused, unknown]
    assert [r.status_code for r in responses] == [200, 200, 401, 404]
    ids = {r.headers["x-request-id"] for r in responses}
    lines = logged(plain, ids)
    assert sorted(line["request_id"] for line in lines) == sorted(ids)
    line = next(line for line in lines if line["request_id"] == answered.headers["x-request-id"])
    usage = answered.json()["usage"]
    assert line["status"] == 200
    assert line["level"] == "info"
    assert line["model"] == "gpt-4o-mini"
    assert line["provider"] == "simulator"
    assert line["deployment"] == "mini"
    assert line["input_tokens"] == usage["prompt_tokens"]
    assert line["output_tokens"] == usage["completion_tokens"]
    assert line["cost_usd"] > 0
    assert line["latency_ms"] >= line["overhead_ms"] >= 0
    assert line["trace_id"] is None  # tracing is off on this gateway
    assert {"auth", "route", "dispatch", "settle"} <= set(line["stages_ms"])
    statuses = {line["request_id"]: line["status"] for line in lines}
    assert statuses[refused.headers["x-request-id"]] == 401
    assert statuses[unknown.headers["x-request-id"]] == 404
    # Nothing the client sent as a secret or a prompt reaches stdout, on any line.
    everything = "\n".join(plain.log.lines)
    for secret in (MASTER, wrong_key, prompt):
        assert secret not in everything


def test_the_formatter_scrubs_keys_wherever_they_hide() -> None:
    provider_key = "provider-secret-value-123"
    formatter = JsonFormatter(lambda: [provider_key, "short"])
    text = formatter.scrub(
        f'{{"error": "upstream said: Incorrect API key sk-proj-abcdefghijkl1234 for '
        f'{provider_key}", "note": "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abc", '
        '"short": "short words stay"}'
    )
    assert "sk-proj-abcdefghijkl1234" not in text
    assert provider_key not in text
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    assert text.count(REDACTED) == 3
    assert "short words stay" in text


def test_the_key_shapes_are_scrubbed_in_any_case_and_a_line_without_them_is_kept() -> None:
    formatter = JsonFormatter(lambda: [])
    for text, scrubbed in (
        ('{"note": "BEARER abcdefgh12345678"}', '{"note": "[redacted]"}'),
        ('{"note": "a bEaReR  abcdefgh12345678=="}', '{"note": "a [redacted]"}'),
        ('{"error": "key sk-abcdefgh1234 refused"}', '{"error": "key [redacted] refused"}'),
        ('{"error": "sk-ant-api03-abcdefgh"}', '{"error": "[redacted]"}'),
    ):
        assert formatter.scrub(text) == scrubbed
    # Near misses stay as they are: too short, no word boundary, no space after bearer.
    for text in (
        '{"a": "sk-short", "b": "task-abcdefgh12345678", "c": "bearer:abcdefgh12345678"}',
        '{"request_id": "req_0123456789abcdef", "stages_ms": {"auth": 0.2}}',
    ):
        assert formatter.scrub(text) == text
