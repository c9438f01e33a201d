"""Every default-on approach through the gateway with the openai SDK: the answer comes back,
its sub-calls are in the request log under the parent (as many as the approach really
made), their tokens and cost add up to the parent's, and the trace has a span per sub-call."""

from __future__ import annotations

import re
import secrets

import pytest

from tests.optimizer.conftest import Stack, assert_rolled_up

# The session's optimizer imports OptiLLM (seconds; a minute or more on a busy machine):
# the first test to need it waits for that.
pytestmark = pytest.mark.timeout(600)

SERVER = 2  # SpanKind.SERVER in OTLP
# Sub-calls each approach makes with a model that honours `n` (the simulator does).
FAN_OUT = {
    "re2": {1},
    "cot_reflection": {1},
    "moa": {3},
    "bon": {4},
    "self_consistency": {5},
    "plansearch": {4},
    # The last call merges two drafts, and is skipped when they came out the same.
    "rto": {3, 4},
}
QUESTION = [{"role": "user", "content": "A train leaves at 9 and arrives at 11. How long?"}]


def calls_in(header: str) -> int:
    found = re.search(r"calls=(\d+)", header)
    assert found is not None, header
    return int(found.group(1))


@pytest.mark.parametrize("approach", sorted(FAN_OUT))
def test_an_approach_answers_and_its_fan_out_adds_up_under_the_parent(
    stack: Stack, approach: str
) -> None:
    trace_id = secrets.token_hex(16)
    raw = stack.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        max_tokens=64,
        extra_body={"optillm_approach": approach},
        extra_headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content
    header = raw.headers["x-gateway-optimizer"]
    assert header.startswith(f"{approach}; ")
    calls = calls_in(header)
    assert calls in FAN_OUT[approach]

    record = assert_rolled_up(stack, raw.headers["x-request-id"], calls)
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == record["prompt_tokens"]
    assert completion.usage.completion_tokens == record["completion_tokens"]
    assert f"tokens={record['prompt_tokens'] + record['completion_tokens']}" in header

    # One trace: the parent's request span, and under its optimizer stage one request
    # span per sub-call (the optimizer passed the trace context on).
    spans = stack.otlp.trace(trace_id, count=1 + calls)
    requests = [span for span in spans if span.kind == SERVER]
    assert len(requests) == 1 + calls
    stage = next(span for span in spans if span.name == "optimizer")
    under_stage = [span for span in requests if span.parent_span_id == stage.span_id]
    assert len(under_stage) == calls


def test_none_is_one_plain_call_with_no_sub_calls(stack: Stack) -> None:
    raw = stack.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        max_tokens=64,
        extra_body={"optillm_approach": "none"},
    )
    assert raw.parse().choices[0].message.content
    assert "x-gateway-optimizer" not in raw.headers
    assert raw.headers["x-gateway-deployment"] == "mini"
    parent = raw.headers["x-request-id"]
    assert stack.record(parent)["cost_usd"] > 0
    assert stack.sub_calls(parent, expected=0) == []


def test_the_approach_may_come_in_metadata_or_as_a_model_prefix(stack: Stack) -> None:
    client = stack.client()
    raw = client.chat.completions.with_raw_response.create(
        model="re2-gpt-4o-mini", messages=QUESTION, max_tokens=64
    )
    assert raw.headers["x-gateway-optimizer"].startswith("re2; calls=1")
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        max_tokens=64,
        metadata={"optillm_approach": "re2&cot_reflection"},
    )
    assert raw.headers["x-gateway-optimizer"].startswith("re2&cot_reflection; calls=2")


def test_the_extension_field_is_never_sent_to_a_provider(stack: Stack) -> None:
    with stack.sim() as sim:
        sim.post("/_sim/reset").raise_for_status()
        stack.client().chat.completions.create(
            model="gpt-4o-mini",
            messages=QUESTION,
            max_tokens=64,
            extra_body={"optillm_approach": "bon"},
        )
        received = sim.get("/_sim/requests").json()["requests"]
    assert len(received) == 4
    for request in received:
        assert "optillm_approach" not in request["body"]
        assert "metadata" not in request["body"]
        # The optimizer's sub-calls come with the gateway's credential, never a client's.
        assert "sk-gwdel-" not in str(request["headers"])
