"""Shadow judging: a share of an auto group's requests is answered by the pair's other model
too and judged in both orders, after the client's answer, through the gateway itself;
charged to the configured budget, never the caller's.

The package's simulator plays the pair and the judges (see conftest): every verdict is
known in advance.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.limits.test_budgets import create
from tests.llm_proxy.test_config import check_config
from tests.policies.conftest import log_record
from tests.routing_learning.conftest import (
    JUDGES,
    SAGE,
    STRONG,
    TWIN,
    WEAK,
    labels,
    wait_for_labels,
)
from tests.support.databases import scratch_redis_prefix
from tests.support.processes import Gateway, Simulator, free_port
from tests.telemetry.conftest import launch, tracing_env
from tests.telemetry.otlp_receiver import OtlpReceiver, ReceivedSpan

PAYER = "shadow-payer"  # the team shadow calls are charged to (by name)
MODELS = (WEAK, STRONG, SAGE, TWIN, *JUDGES)


# Every model priced alike, so every call costs something.
PRICE = {"input_cost_per_mtok": 1.0, "output_cost_per_mtok": 4.0}


def _shadow(judge: str = "judge", share: float = 1.0, **extra: Any) -> dict[str, Any]:
    return {"share": share, "judge_model": judge, "budget": {"team": PAYER}, **extra}


GROUPS: dict[str, Any] = {
    # The router-service is nowhere: each group's default answers.
    "auto": {"default": WEAK, "strong": STRONG, "shadow": _shadow()},
    "strong-first": {"default": STRONG, "strong": STRONG, "weak": WEAK, "shadow": _shadow()},
    "sage": {"default": SAGE, "strong": STRONG, "shadow": _shadow()},
    "twin": {"default": TWIN, "strong": STRONG, "shadow": _shadow()},
    "biased": {"default": WEAK, "strong": STRONG, "shadow": _shadow("judge-first")},
    "mute": {"default": WEAK, "strong": STRONG, "shadow": _shadow("judge-mute")},
    "capped": {
        "default": WEAK,
        "strong": STRONG,
        "shadow": _shadow("judge-slow", max_concurrent=1),
    },
    "sampled": {"default": WEAK, "strong": STRONG, "shadow": _shadow(share=0.01)},
    "unjudged": {"default": WEAK, "strong": STRONG},
    "hasty": {
        "default": WEAK,
        "strong": STRONG,
        "shadow": _shadow("judge-slow", timeout_s=0.5),
    },
    "thrifty": {
        "default": WEAK,
        "strong": STRONG,
        "shadow": {**_shadow(), "budget": {"team": "thrifty-payer"}},
    },
    "unpaid": {
        "default": WEAK,
        "strong": STRONG,
        "shadow": {**_shadow(), "budget": {"team": "no-such-team"}},
    },
}


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    with scratch_redis_prefix("shadow") as prefix:
        yield prefix


def _config(simulator: Simulator, database: str, redis_prefix: str) -> dict[str, Any]:
    return {
        "backends": [
            {"name": m, "provider": "simulator", "endpoint": simulator.v1, "model": m, **PRICE}
            for m in MODELS
        ],
        "routing": {
            "auto_groups": GROUPS,
            "router_service": {"url": f"http://127.0.0.1:{free_port()}", "deadline_ms": 200},
            "retries": {"max_attempts": 1},
        },
        "database": {"url": database},
        "redis": {"url": "redis://127.0.0.1:6379/0", "prefix": redis_prefix},
    }


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator,
    database: str,
    redis_prefix: str,
    otlp: OtlpReceiver,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    config = _config(simulator, database, redis_prefix)
    gateway = launch(config, tmp_path_factory.mktemp("gw-shadow"), tracing_env(otlp))
    budget = create(gateway, "/admin/budgets", {"name": "shadow-budget", "usd_daily": 1000})
    create(gateway, "/admin/teams", {"name": PAYER, "budget_id": budget["id"]})
    yield gateway
    gateway.stop()


def _caller(gw: Gateway, name: str, **key_limits: Any) -> tuple[str, str]:
    """A key of a new team with a budget of its own: (the key's secret, the team's id)."""
    budget = create(gw, "/admin/budgets", {"name": f"{name}-budget", "usd_daily": 1000})
    team = create(gw, "/admin/teams", {"name": name, "budget_id": budget["id"]})
    key = create(gw, "/admin/keys", {"name": name, "team_id": team["id"], **key_limits})
    return key["key"], team["id"]


def _ask(gw: Gateway, model: str, key: str | None = None, **extra: Any) -> Any:
    client = openai.OpenAI(base_url=gw.v1, api_key=key or gw.master_key, max_retries=0)
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "Why is the sky blue?"}], **extra
    )


def _shadow_calls(
    gw: Gateway, request_id: str, count: int = 3, wait_s: float = 15
) -> list[dict[str, Any]]:
    """The spend-log rows of the shadow calls judging `request_id`, once `count` are there
    (or `wait_s` has passed)."""
    deadline = time.monotonic() + wait_s
    with gw.client() as http:
        while True:
            rows: list[dict[str, Any]] = http.get(
                "/admin/logs", params={"shadow_of": request_id, "limit": 50}
            ).json()["data"]
            if len(rows) >= count or time.monotonic() > deadline:
                return rows
            time.sleep(0.05)


def _runs(gw: Gateway, group: str) -> dict[str, float]:
    """gateway_shadow_runs_total of `group`, by outcome."""
    text = httpx.get(f"{gw.url}/metrics", timeout=10).text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "gateway_shadow_runs_total" and sample.labels["group"] == group:
                found[sample.labels["outcome"]] = sample.value
    return found


def _eventually_runs(gw: Gateway, group: str, outcome: str, count: float) -> dict[str, float]:
    deadline = time.monotonic() + 15
    while (runs := _runs(gw, group)).get(outcome, 0) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return runs


@pytest.mark.parametrize(
    ("group", "routed", "strong_wins", "verdicts"),
    [
        # (strong as A, weak as B), then (weak as A, strong as B)
        ("auto", WEAK, 1.0, ["A", "B"]),
        ("strong-first", STRONG, 1.0, ["A", "B"]),
        ("sage", SAGE, 0.0, ["B", "A"]),
        ("twin", TWIN, 0.5, ["C", "C"]),
        # A judge that always names the first answer: the two orders cancel out.
        ("biased", WEAK, 0.5, ["A", "A"]),
    ],
)
def test_a_shadowed_request_is_judged_in_both_orders_and_labelled(
    group: str,
    routed: str,
    strong_wins: float,
    verdicts: list[str],
    gw: Gateway,
    database: str,
    sim: httpx.Client,
) -> None:
    raw = _ask(gw, group)
    assert raw.status_code == 200 and raw.headers["x-gateway-model"] == routed
    request_id = raw.headers["x-request-id"]
    [label] = wait_for_labels(database, request_id)
    assert label["source"] == "shadow" and label["auto_group"] == group
    assert label["strong_wins"] == strong_wins
    assert label["detail"]["verdicts"] == verdicts
    assert (label["strong_model"], label["routed_model"]) == (STRONG, routed)
    assert label["messages"] == [{"role": "user", "content": "Why is the sky blue?"}]

    calls = _shadow_calls(gw, request_id)
    other = STRONG if routed != STRONG else WEAK
    judge = GROUPS[group]["shadow"]["judge_model"]
    assert sorted(c["model_requested"] for c in calls) == sorted([other, judge, judge])
    assert all(c["status"] == 200 and c["cost_usd"] > 0 for c in calls)
    # The judge saw both answers, each once in each place.
    judged = [
        r["body"]["messages"][-1]["content"]
        for r in sim.get("/_sim/requests").json()["requests"]
        if r["model"] == judge
    ]
    marks = [re.findall(r"\[q[0-9]\]", prompt) for prompt in judged]
    assert len(marks) == 2 and len(marks[0]) == 2 and marks[0] == marks[1][::-1]


def test_shadow_calls_are_tagged_and_charged_to_the_shadow_budget_not_the_caller(
    gw: Gateway, database: str
) -> None:
    # The caller's key may make 4 requests a minute: shadow calls taking any of that
    # (3 a request) would refuse its second request.
    key, team = _caller(gw, "caller-limited", rpm=4)
    answered = []
    for _ in range(4):
        raw = _ask(gw, "auto", key)
        assert raw.status_code == 200
        answered.append(raw.headers["x-request-id"])
        wait_for_labels(database, answered[-1])
    with pytest.raises(openai.RateLimitError):
        _ask(gw, "auto", key)  # its own limit still holds

    own = [log_record(gw, request_id) for request_id in answered]
    calls = [call for request_id in answered for call in _shadow_calls(gw, request_id)]
    assert len(calls) == 12
    with gw.client() as http:
        payer = http.get("/admin/teams", params={"limit": 200}).json()["data"]
        payer_id = next(t["id"] for t in payer if t["name"] == PAYER)
        detail = log_record(gw, calls[0]["request_id"])
        assert detail["tags"] == ["shadow"] and detail["shadow_of"] in answered
        assert {c["team_id"] for c in calls} == {payer_id}
        assert {c["key_id"] for c in calls} == {"shadow_auto"}
        # Filterable in the log: the caller's team has none, the payer's has them all.
        mine = http.get("/admin/logs", params={"team_id": team, "shadow": "true"}).json()
        assert mine["data"] == []
        rows = http.get("/admin/logs", params={"team_id": team}).json()["data"]
        assert len(rows) == 5  # its four answers and its refused fifth, nothing else
        assert set(answered) < {row["request_id"] for row in rows}
        assert all(row["shadow_of"] is None for row in rows)
        usage = http.get(f"/v1/teams/{team}/usage").json()["daily"]
        assert usage["requests"] == len(rows)
        assert usage["cost_usd"] == pytest.approx(sum(r["cost_usd"] for r in own))
        paid = http.get(f"/v1/teams/{payer_id}/usage").json()["daily"]
        assert paid["cost_usd"] >= sum(c["cost_usd"] for c in calls) > 0


def test_a_virtual_key_can_pay_for_the_shadow_calls(gw: Gateway, database: str) -> None:
    budget = create(gw, "/admin/budgets", {"name": "key-payer-budget", "usd_daily": 1000})
    team = create(gw, "/admin/teams", {"name": "key-payer", "budget_id": budget["id"]})
    key = create(gw, "/admin/keys", {"name": "key-payer", "team_id": team["id"]})
    config = yaml.safe_load(gw.config_path.read_text())
    shadow = {**_shadow(), "budget": {"key": key["id"]}}
    config["routing"]["auto_groups"]["key-paid"] = {**GROUPS["auto"], "shadow": shadow}
    gw.config_path.write_text(yaml.safe_dump(config))
    with gw.client() as http:
        assert http.post("/admin/config/reload").status_code == 200
    raw = _ask(gw, "key-paid")
    request_id = raw.headers["x-request-id"]
    [label] = wait_for_labels(database, request_id)
    assert label["strong_wins"] == 1.0
    calls = _shadow_calls(gw, request_id)
    assert {(c["key_id"], c["team_id"]) for c in calls} == {(key["id"], team["id"])}
    with gw.client() as http:
        usage = http.get(f"/v1/keys/{key['id']}/usage").json()["daily"]
    assert usage["requests"] == 3
    assert usage["cost_usd"] == pytest.approx(sum(c["cost_usd"] for c in calls))


def test_the_payers_budget_is_enforced_on_shadow_calls(gw: Gateway, database: str) -> None:
    # A budget the first shadow call spends: a scope is served while it is under budget.
    budget = create(gw, "/admin/budgets", {"name": "thrifty", "usd_daily": 0.000001})
    create(gw, "/admin/teams", {"name": "thrifty-payer", "budget_id": budget["id"]})
    raw = _ask(gw, "thrifty")
    assert raw.status_code == 200
    assert _eventually_runs(gw, "thrifty", "failed", 1) == {"failed": 1}
    assert labels(database, raw.headers["x-request-id"]) == []
    calls = _shadow_calls(gw, raw.headers["x-request-id"])
    refused = [c for c in calls if c["status"] == 429]
    assert len(calls) == 3 and len(refused) == 2
    assert {c["model_requested"] for c in refused} == {"judge"}


def test_a_streamed_request_is_shadowed_after_its_end(gw: Gateway, database: str) -> None:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    with client.chat.completions.with_streaming_response.create(
        model="strong-first",
        messages=[{"role": "user", "content": "Why is the sky blue?"}],
        stream=True,
    ) as response:
        request_id = response.headers["x-request-id"]
        text = "".join(
            chunk.choices[0].delta.content or "" for chunk in response.parse() if chunk.choices
        )
    assert text.endswith("[q8]")
    [label] = wait_for_labels(database, request_id)
    assert label["strong_wins"] == 1.0 and label["routed_model"] == STRONG
    calls = _shadow_calls(gw, request_id)
    assert len(calls) == 3 and not any(c["stream"] for c in calls)
    streamed = log_record(gw, request_id)
    # The client's request ended before any shadow call began.
    ended = datetime.fromisoformat(streamed["finished_at"])
    assert all(datetime.fromisoformat(c["started_at"]) >= ended for c in calls)


def test_shadow_calls_join_the_judged_requests_trace(
    gw: Gateway, database: str, otlp: OtlpReceiver
) -> None:
    trace = "7be2a0d3c1f84b0e9a6d5c4b3a291807"
    raw = _ask(gw, "auto", extra_headers={"traceparent": f"00-{trace}-00f067aa0ba902b7-01"})
    request_id = raw.headers["x-request-id"]
    wait_for_labels(database, request_id)
    calls = {c["request_id"] for c in _shadow_calls(gw, request_id)}
    assert {log_record(gw, call)["trace_id"] for call in calls} == {trace}

    def roots(spans: list[ReceivedSpan]) -> dict[str, ReceivedSpan]:
        return {
            str(s.attributes["gateway.request_id"]): s
            for s in spans
            if s.trace_id == trace and "gateway.request_id" in s.attributes
        }

    found = roots(otlp.wait_for(lambda spans: len(roots(spans)) >= 4))
    assert set(found) == {request_id, *calls}
    # Each shadow call's own span is a child of the judged request's.
    judged = found[request_id]
    assert {found[call].parent_span_id for call in calls} == {judged.span_id}
    assert all(found[call].start_ns >= judged.end_ns for call in calls)


def test_the_share_is_honoured_over_2000_requests(gw: Gateway, database: str) -> None:
    with httpx.Client(base_url=gw.v1, timeout=30) as http:
        headers = {"authorization": f"Bearer {gw.master_key}"}
        body = {"model": "sampled", "messages": [{"role": "user", "content": "hi"}]}
        for _ in range(2000):
            assert http.post("/chat/completions", json=body, headers=headers).status_code == 200
    runs = _eventually_runs(gw, "sampled", "labelled", 20)
    assert runs == {"labelled": 20}
    deadline = time.monotonic() + 15
    while len(found := _labels_of(database, "sampled")) < 20 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(found) == 20


def _labels_of(database: str, group: str) -> list[dict[str, Any]]:
    return [row for row in labels(database) if row["auto_group"] == group]


def test_past_the_concurrency_cap_a_run_is_skipped_and_counted(gw: Gateway, database: str) -> None:
    asked = [_ask(gw, "capped") for _ in range(3)]  # the first run's judge takes 1.5 s
    assert all(raw.status_code == 200 for raw in asked)
    runs = _eventually_runs(gw, "capped", "labelled", 1)
    assert runs == {"busy": 2, "labelled": 1}
    [ran, *skipped] = [raw.headers["x-request-id"] for raw in asked]
    assert len(wait_for_labels(database, ran)) == 1
    assert all(labels(database, request_id) == [] for request_id in skipped)


def test_a_failing_shadow_run_leaves_the_client_alone(
    gw: Gateway, database: str, sim: httpx.Client
) -> None:
    raw = _ask(gw, "mute")  # its judge states no verdict
    assert raw.status_code == 200
    assert _eventually_runs(gw, "mute", "unjudged", 1) == {"unjudged": 1}
    fault = {"fault": "500", "model": "judge", "count": 2}
    sim.post("/_sim/faults", json=fault).raise_for_status()
    raw = _ask(gw, "auto")
    assert raw.status_code == 200 and raw.parse().choices[0].message.content
    assert _eventually_runs(gw, "auto", "failed", 1)["failed"] == 1
    assert labels(database, raw.headers["x-request-id"]) == []
    calls = _shadow_calls(gw, raw.headers["x-request-id"])
    statuses = sorted(c["status"] for c in calls)
    assert statuses[0] == 200 and statuses[1] >= 500 and statuses[2] >= 500
    # A run past its timeout is abandoned: its judge calls are logged as abandoned (499).
    raw = _ask(gw, "hasty")
    assert raw.status_code == 200
    assert _eventually_runs(gw, "hasty", "timeout", 1) == {"timeout": 1}
    calls = _shadow_calls(gw, raw.headers["x-request-id"])
    assert sorted((c["model_requested"], c["status"]) for c in calls) == [
        (STRONG, 200),
        ("judge-slow", 499),
        ("judge-slow", 499),
    ]
    # Shadow calls nobody can be charged for are never made.
    raw = _ask(gw, "unpaid")
    assert raw.status_code == 200
    assert _eventually_runs(gw, "unpaid", "unpaid", 1) == {"unpaid": 1}
    assert _shadow_calls(gw, raw.headers["x-request-id"], count=1, wait_s=0.2) == []
    # A group without shadow judging is never shadowed.
    raw = _ask(gw, "unjudged")
    log_record(gw, raw.headers["x-request-id"])
    assert _shadow_calls(gw, raw.headers["x-request-id"], count=1, wait_s=1) == []


def test_bad_shadow_config_names_the_place(tmp_path: Path) -> None:
    groups = {
        "no-pair": {"default": WEAK, "shadow": _shadow(judge=STRONG)},
        "two-payers": {
            "default": WEAK,
            "strong": STRONG,
            "shadow": {**_shadow(judge=STRONG), "budget": {"team": "t", "key": "k"}},
        },
        "too-much": {"default": WEAK, "strong": STRONG, "shadow": _shadow(STRONG, share=1.5)},
        "unbounded": {
            "default": WEAK,
            "strong": STRONG,
            "shadow": _shadow(STRONG, max_concurrent=0),
        },
    }
    problems = _config_problems(tmp_path, groups)
    assert "routing.auto_groups.no-pair: shadow judging needs a pair" in problems
    assert "routing.auto_groups.two-payers.shadow.budget: name exactly one of" in problems
    assert "routing.auto_groups.too-much.shadow.share: Input should be less than or equal" in (
        problems
    )
    assert "routing.auto_groups.unbounded.shadow.max_concurrent: Input should be greater" in (
        problems
    )
    unknown = {"default": WEAK, "strong": STRONG, "shadow": _shadow(judge="nobody")}
    problems = _config_problems(tmp_path, {"no-judge": unknown})
    assert "routing.auto_groups.no-judge.shadow.judge_model: no backend serves 'nobody'" in (
        problems
    )


def test_the_admin_api_validates_shadow_config_as_the_file_is(gw: Gateway) -> None:
    with gw.client() as http:
        document = http.get("/admin/config").json()["document"]
        assert document["routing"]["auto_groups"]["auto"]["shadow"]["share"] == 1.0
        document["routing"]["auto_groups"]["auto"]["shadow"]["share"] = -0.5
        document["routing"]["auto_groups"]["sage"]["shadow"]["judge_model"] = "nobody"
        refused = http.post("/admin/config/preview", json={"document": document})
        assert refused.status_code == 400
        message = refused.json()["error"]["message"]
        assert "routing.auto_groups.auto.shadow.share: Input should be greater" in message
        document["routing"]["auto_groups"]["auto"]["shadow"]["share"] = 0.5
        refused = http.post("/admin/config/preview", json={"document": document})
        assert refused.status_code == 400
        assert (
            "routing.auto_groups.sage.shadow.judge_model: no backend serves 'nobody'"
            in (refused.json()["error"]["message"])
        )
        document["routing"]["auto_groups"]["sage"]["shadow"]["judge_model"] = "judge"
        accepted = http.post("/admin/config/preview", json={"document": document})
        assert accepted.status_code == 200, accepted.text
        assert [c["path"] for c in accepted.json()["diff"]] == [
            "routing.auto_groups.auto.shadow.share"
        ]


def _config_problems(directory: Path, groups: dict[str, Any]) -> str:
    backends = [{"name": m, "provider": "openai", "model": m} for m in (WEAK, STRONG)]
    path = directory / "gateway.yaml"
    path.write_text(yaml.safe_dump({"backends": backends, "routing": {"auto_groups": groups}}))
    result = check_config(path)
    assert result.returncode != 0
    return result.stderr
