"""The guard screens an optimizer run's parent as it screens any request: its conversation
before any sub-call (what is redacted never reaches the optimizer, nor the provider) and
its final answer before it leaves (the redacted values are put back)."""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import pytest

from tests.optimizer.conftest import Stack

pytestmark = pytest.mark.timeout(600)
EMAIL = "jane.doe@example.com"
PII = {
    "name": "pii",
    "on": ["request"],
    "checks": {"pii": {"entities": ["email"], "action": "redact", "restore": True}},
}


@pytest.fixture
def redacting(stack: Stack) -> Iterator[None]:
    with stack.reconfigured("guardrails", {"policies": [PII]}):
        yield


@pytest.mark.usefixtures("redacting")
def test_the_parent_is_screened_before_the_fan_out_and_its_answer_restored(stack: Stack) -> None:
    with stack.sim() as sim:
        sim.post("/_sim/reset").raise_for_status()
        seen = len(stack.tap.sent())
        raw = stack.client().chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"Write to {EMAIL} about the train."}],
            max_tokens=64,
            extra_body={"optillm_approach": "re2"},
        )
        upstream = sim.get("/_sim/requests").json()["requests"]
    answer = raw.parse().choices[0].message.content or ""
    assert raw.headers["x-gateway-optimizer"].startswith("re2; calls=1")
    # The optimizer got the redacted conversation, and so did the provider.
    to_optimizer = stack.tap.sent()[seen:]
    assert b"[EMAIL_1]" in to_optimizer and EMAIL.encode() not in to_optimizer
    assert len(upstream) == 1
    assert EMAIL not in str(upstream[0]["body"])
    # The simulator quotes what it got; the parent's answer has the address back.
    assert EMAIL in answer and "[EMAIL_1]" not in answer
    assert "request/pii.email=redact:1" in raw.headers["x-gateway-guardrails"]


@pytest.mark.usefixtures("redacting")
def test_a_streamed_message_is_screened_the_same_way(stack: Stack) -> None:
    seen = len(stack.tap.sent())
    client = anthropic.Anthropic(
        base_url=stack.gateway.url, api_key=stack.gateway.master_key, max_retries=0
    )
    with client.messages.stream(
        model="gpt-4o-mini",
        max_tokens=64,
        messages=[{"role": "user", "content": f"Write to {EMAIL} about the train."}],
        extra_body={"optillm_approach": "re2"},
    ) as stream:
        text = stream.get_final_text()
    to_optimizer = stack.tap.sent()[seen:]
    assert b"[EMAIL_1]" in to_optimizer and EMAIL.encode() not in to_optimizer
    assert EMAIL in text and "[EMAIL_1]" not in text
