"""One trace per request, from the caller's traceparent through every stage to the upstream."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from llm_proxy.telemetry.tracing import TracingConfigError, tracing_from_env

from tests.support.processes import Gateway, Simulator
from tests.telemetry.conftest import Plain, gateway_config, launch
from tests.telemetry.otlp_receiver import OtlpReceiver, ReceivedSpan

STAGES = {"auth", "limits", "budget", "cache", "route", "dispatch", "settle"}
SERVER, CLIENT = 2, 3  # SpanKind in OTLP's numbering
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"


def by_name(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
    return {span.name: span for span in spans}


def chat_in_trace(
    gateway: Gateway, model: str, trace_id: str, flags: str = "01", content: str = "hi"
) -> httpx.Response:
    """A chat request sent as a child of the caller's span CALLER_SPAN in `trace_id`."""
    with gateway.client() as http:
        return http.post(
            "/v1/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": content}]},
            headers={"traceparent": f"00-{trace_id}-{CALLER_SPAN}-{flags}"},
        )


def upstream_header(sim: httpx.Client, model: str, name: str) -> list[str]:
    requests = sim.get("/_sim/requests").json()["requests"]
    return [r["headers"].get(name, "") for r in requests if r["model"] == model]


def upstream_traceparents(sim: httpx.Client, model: str) -> list[str]:
    return upstream_header(sim, model, "traceparent")


def test_a_request_is_one_trace_over_every_stage_and_the_upstream_call(
    traced: Gateway, sim: httpx.Client, otlp: OtlpReceiver
) -> None:
    gw = traced
    caller = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=50,
        extra_headers={"traceparent": caller, "tracestate": "vendor=abc"},
    )
    completion = raw.parse()
    spans = otlp.trace(CALLER_TRACE, count=len(STAGES) + 2)
    named = by_name(spans)
    root = next(span for span in spans if span.kind == SERVER)
    assert root.parent_span_id == CALLER_SPAN
    assert root.service == "llm-proxy-test"
    assert root.name == "chat gpt-4o-mini"
    assert set(named) >= STAGES
    for stage in STAGES:
        assert named[stage].parent_span_id == root.span_id, stage
    attempt = next(span for span in spans if span.kind == CLIENT)
    assert attempt.parent_span_id == named["dispatch"].span_id
    assert attempt.attributes["gateway.deployment"] == "mini"
    assert attempt.attributes["http.response.status_code"] == 200
    # The upstream received the attempt's span as its parent, in the same trace.
    assert upstream_traceparents(sim, "gpt-4o-mini") == [f"00-{CALLER_TRACE}-{attempt.span_id}-01"]
    # The caller's tracestate goes on with its trace: to the upstream and on every span.
    assert upstream_header(sim, "gpt-4o-mini", "tracestate") == ["vendor=abc"]
    assert {span.trace_state for span in spans} == {"vendor=abc"}

    attributes = root.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.system"] == "simulator"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.request.max_tokens"] == 50
    assert completion.usage is not None
    assert attributes["gen_ai.usage.input_tokens"] == completion.usage.prompt_tokens
    assert attributes["gen_ai.usage.output_tokens"] == completion.usage.completion_tokens
    assert attributes["gateway.request_id"] == raw.headers["x-request-id"]
    assert attributes["http.response.status_code"] == 200
    # The stage spans sit inside the request's own span.
    assert all(root.start_ns <= s.start_ns and s.end_ns <= root.end_ns for s in spans if s != root)
    # The spend log keeps the trace id and the stage timings, for a waterfall without Jaeger.
    record = logged(gw, raw.headers["x-request-id"])
    assert record["trace_id"] == CALLER_TRACE
    assert set(record["stage_timings"]) >= STAGES


def logged(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The request's spend-log record, once the writer has flushed it."""
    with gateway.client() as http:
        for _ in range(200):
            found = http.get(f"/admin/logs/{request_id}")
            if found.status_code == 200:
                record: dict[str, Any] = found.json()
                return record
            time.sleep(0.05)
    raise AssertionError(f"{request_id} never reached the request log")


def test_retries_and_fallbacks_are_separate_attempt_spans(
    traced: Gateway, sim: httpx.Client, otlp: OtlpReceiver
) -> None:
    gw = traced
    sim.post("/_sim/faults", json={"fault": "500", "count": 2, "model": "m-primary"})
    with gw.client() as http:
        response = http.post(
            "/v1/chat/completions",
            json={"model": "primary", "messages": [{"role": "user", "content": "hi"}]},
        )
    assert response.status_code == 200
    assert response.headers["x-gateway-attempts"] == "3"
    trace_id = upstream_traceparents(sim, "m-secondary")[0].split("-")[1]
    spans = otlp.trace(trace_id, count=len(STAGES) + 4)
    attempts = sorted((s for s in spans if s.kind == CLIENT), key=lambda s: s.start_ns)
    dispatch = by_name(spans)["dispatch"]
    described = [
        (
            a.attributes["gateway.model_group"],
            a.attributes["gateway.deployment"],
            a.attributes["gateway.attempt"],
            a.attributes["http.response.status_code"],
            a.is_error,
        )
        for a in attempts
    ]
    assert described == [
        ("primary", "primary-dep", 1, 500, True),
        ("primary", "primary-dep", 2, 500, True),
        ("secondary", "secondary-dep", 1, 200, False),
    ]
    assert all(a.parent_span_id == dispatch.span_id for a in attempts)
    # Each attempt told the upstream its own span id.
    sent = upstream_traceparents(sim, "m-primary") + upstream_traceparents(sim, "m-secondary")
    assert [p.split("-")[2] for p in sent] == [a.span_id for a in attempts]
    root = next(span for span in spans if span.kind == SERVER)
    assert root.attributes["gateway.fallback_from"] == "primary"
    assert root.attributes["gateway.attempts"] == 3


def test_a_stream_is_traced_to_its_end_and_a_refused_request_too(
    traced: Gateway, sim: httpx.Client, otlp: OtlpReceiver
) -> None:
    gw = traced
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="m-streamy",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = chunks[-1].usage
    assert usage is not None
    trace_id = upstream_traceparents(sim, "m-streamy")[0].split("-")[1]
    spans = otlp.trace(trace_id, count=len(STAGES) + 2)
    root = next(span for span in spans if span.kind == SERVER)
    assert root.attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens == 20
    settle = by_name(spans)["settle"]
    assert settle.end_ns <= root.end_ns

    refused = chat_in_trace(gw, "no-such-model", "ab" * 16)
    assert refused.status_code == 404
    spans = otlp.trace("ab" * 16, count=6)  # auth, limits, budget, cache, route, request
    named = by_name(spans)
    assert named["route"].is_error
    root = next(span for span in spans if span.kind == SERVER)
    assert root.attributes["http.response.status_code"] == 404
    assert "dispatch" not in named


def test_an_unsampled_request_exports_nothing_and_says_so_upstream(
    traced: Gateway, sim: httpx.Client, otlp: OtlpReceiver
) -> None:
    """The caller's trace is not sampled (flags 00): the upstream is told so, in the
    caller's trace, and no span of it is exported, while a sampled request's are."""
    unsampled, sampled = "cd" * 16, "ef" * 16
    for trace_id, flags in ((unsampled, "00"), (sampled, "01")):
        response = chat_in_trace(traced, "gpt-4o-mini", trace_id, flags, content=flags)
        assert response.status_code == 200
    sent = upstream_traceparents(sim, "gpt-4o-mini")
    assert [(p.split("-")[1], p.split("-")[3]) for p in sent] == [
        (unsampled, "00"),
        (sampled, "01"),
    ]
    # Spans are exported in the order they end: once the later request's are in, the
    # earlier one's would be too.
    assert len(otlp.trace(sampled, count=len(STAGES) + 2)) >= len(STAGES) + 2
    assert not [span for span in otlp.spans if span.trace_id == unsampled]


def test_a_malformed_traceparent_starts_a_trace_of_its_own(
    traced: Gateway, sim: httpx.Client, otlp: OtlpReceiver
) -> None:
    bad = "not-a-trace-" + "9" * 20
    with traced.client() as http:
        response = http.post(
            "/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            headers={"traceparent": f"00-{bad}-{CALLER_SPAN}-01"},
        )
    assert response.status_code == 200
    [sent] = upstream_traceparents(sim, "gpt-4o-mini")
    version, trace_id, _, flags = sent.split("-")
    assert (version, flags) == ("00", "01")
    assert bad not in sent
    spans = otlp.trace(trace_id, count=len(STAGES) + 2)
    root = next(span for span in spans if span.kind == SERVER)
    assert root.parent_span_id == ""


def test_with_tracing_off_nothing_is_propagated(plain: Plain, sim: httpx.Client) -> None:
    response = chat_in_trace(plain.gateway, "gpt-4o-mini", CALLER_TRACE)
    assert response.status_code == 200
    assert upstream_traceparents(sim, "gpt-4o-mini") == [""]


def test_the_console_exporter_prints_each_span_to_stderr(
    simulator: Simulator, tmp_path: Path
) -> None:
    """OTEL_TRACES_EXPORTER=console: the spans, as the SDK's console exporter prints them
    (JSON, on stderr: stdout is the request log's)."""
    env = {"OTEL_TRACES_EXPORTER": "console", "OTEL_BSP_SCHEDULE_DELAY": "50"}
    gateway = launch(gateway_config(simulator, tmp_path), tmp_path, env)
    try:
        trace_id = "12" * 16
        assert chat_in_trace(gateway, "gpt-4o-mini", trace_id).status_code == 200
        assert gateway.output is not None
        printed = gateway.output.lines
        deadline = time.monotonic() + 15
        names: list[str] = []
        while time.monotonic() < deadline and "chat gpt-4o-mini" not in names:
            time.sleep(0.05)
            names = [
                json.loads(text)["name"]
                for text in _json_blocks(list(printed))
                if f'"0x{trace_id}"' in text
            ]
        assert set(names) >= {"chat gpt-4o-mini", "attempt mini"} | STAGES
    finally:
        gateway.stop()


def _json_blocks(lines: list[str]) -> list[str]:
    """The console exporter's spans: indented JSON objects from a "{" line to a "}" line."""
    blocks, current = [], list[str]()
    for line in lines:
        if line == "{":
            current = [line]
        elif current:
            current.append(line)
            if line == "}":
                blocks.append("\n".join(current))
                current = []
    return blocks


def test_the_standard_variables_choose_the_exporter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_PROTOCOL", raising=False)
    assert tracing_from_env(enabled_in_config=False) is None
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(TracingConfigError, match="'zipkin' is not supported"):
        tracing_from_env(enabled_in_config=False)
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(TracingConfigError, match="http/protobuf"):
        tracing_from_env(enabled_in_config=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "soon")
    with pytest.raises(TracingConfigError, match="OTEL_BSP_SCHEDULE_DELAY='soon'"):
        tracing_from_env(enabled_in_config=False)
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "10")
    with pytest.raises(TracingConfigError, match="must not exceed OTEL_BSP_MAX_QUEUE_SIZE"):
        tracing_from_env(enabled_in_config=False)
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert tracing_from_env(enabled_in_config=True) is None
