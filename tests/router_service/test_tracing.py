"""router-service's own spans continue the caller's trace: a traced gateway request with
model auto has a router-service span whose parent is the gateway's span that called it, both
exported over OTLP/HTTP to a receiver on loopback."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.router_service.service_process import running_service
from tests.support.processes import Gateway, Simulator, start_simulator
from tests.telemetry.conftest import launch, tracing_env
from tests.telemetry.otlp_receiver import OtlpReceiver, ReceivedSpan

WEAK, STRONG = "gpt-4o-mini", "gpt-4o"


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def service(otlp: OtlpReceiver) -> Iterator[str]:
    env = {**tracing_env(otlp), "OTEL_SERVICE_NAME": "router-service-test"}
    with running_service(env) as url:
        yield url


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator({"name": "sim"}, tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator,
    service: str,
    otlp: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    config = {
        "backends": [
            {"name": n, "provider": "simulator", "endpoint": simulator.v1, "model": m}
            for n, m in (("weak", WEAK), ("strong", STRONG))
        ],
        "routing": {
            "auto_groups": {"auto": {"default": WEAK, "strong": STRONG}},
            "router_service": {"url": service, "deadline_ms": 5000},
        },
    }
    gateway = launch(config, tmp_path_factory.mktemp("gw"), tracing_env(otlp))
    yield gateway
    gateway.stop()


def router_spans(spans: list[ReceivedSpan], trace_id: str) -> list[ReceivedSpan]:
    return [s for s in spans if s.trace_id == trace_id and s.service == "router-service-test"]


def test_the_route_span_is_a_child_of_the_gateway_span_that_asked(
    gw: Gateway, otlp: OtlpReceiver
) -> None:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Prove that 17 is prime."}]
    )
    request_id = raw.headers["x-request-id"]
    assert "router=minilm" in raw.headers["x-gateway-route"]
    spans = otlp.wait_for(
        lambda s: any(x.attributes.get("gateway.request_id") == request_id for x in s)
    )
    [root] = [s for s in spans if s.attributes.get("gateway.request_id") == request_id]
    spans = otlp.wait_for(lambda s: bool(router_spans(s, root.trace_id)))
    [ours] = router_spans(spans, root.trace_id)
    gateway_spans = {s.span_id: s for s in spans if s.service == "llm-proxy-test"}
    assert ours.parent_span_id in gateway_spans
    assert gateway_spans[ours.parent_span_id].trace_id == root.trace_id
    assert ours.name == "POST /route" and ours.kind == 2  # SPAN_KIND_SERVER
    assert ours.attributes["router.model"] == raw.headers["x-gateway-model"]
    assert ours.attributes["router.auto_group"] == "auto"
    assert ours.attributes["http.response.status_code"] == 200
    assert 0.0 <= ours.attributes["router.score"] <= 1.0


def test_a_traceparent_is_continued_and_a_call_without_one_starts_a_trace(
    service: str, otlp: OtlpReceiver
) -> None:
    trace_id, parent = secrets.token_hex(16), secrets.token_hex(8)
    with httpx.Client(base_url=service, timeout=30) as http:
        traced = http.post(
            "/route",
            json={"auto_group": "nowhere", "messages": [{"role": "user", "content": "hi"}]},
            headers={"traceparent": f"00-{trace_id}-{parent}-01"},
        )
        assert traced.status_code == 404
        untraced = http.post("/route", json={"auto_group": "auto", "messages": "hi"})
        assert untraced.status_code == 400
    spans = otlp.wait_for(lambda s: bool(router_spans(s, trace_id)))
    [ours] = router_spans(spans, trace_id)
    assert ours.parent_span_id == parent
    assert ours.attributes["http.response.status_code"] == 404
    spans = otlp.wait_for(
        lambda s: any(x.attributes.get("http.response.status_code") == 400 for x in s)
    )
    [bad] = [s for s in spans if s.attributes.get("http.response.status_code") == 400]
    assert bad.parent_span_id == "" and bad.trace_id != trace_id
