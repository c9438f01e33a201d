"""An optimizer run is counted once: its parent's record carries its sub-calls' sums, so the
usage series reads the parent (the sub-calls only when asked for by parent) and the
Prometheus counters the dashboards chart count the sub-calls and not the parent again."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.optimizer.conftest import Stack
from tests.optimizer.test_guards import QUESTION, create, issue_key

pytestmark = pytest.mark.timeout(600)


def team_cost(stack: Stack, team: str) -> float:
    with stack.admin() as admin:
        text = admin.get("/metrics").text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "gateway_cost_usd_total" and sample.labels.get("team") == team
    )


def test_a_fan_out_is_counted_once_in_the_usage_series_and_the_metrics(stack: Stack) -> None:
    team = create(stack, "/admin/teams")
    client = stack.client(issue_key(stack, team_id=team))
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=QUESTION,
        max_tokens=64,
        extra_body={"optillm_approach": "bon"},
    )
    parent = raw.headers["x-request-id"]
    children = stack.sub_calls(parent, 4)
    assert len(children) == 4
    record = stack.record(parent)
    tokens = record["prompt_tokens"] + record["completion_tokens"]
    assert tokens == sum(c["prompt_tokens"] + c["completion_tokens"] for c in children)

    with stack.admin() as admin:
        series = admin.get(
            "/admin/usage/timeseries", params={"team_id": team, "interval": "1d"}
        ).json()["data"]
        runs = admin.get(
            "/admin/usage/timeseries",
            params={"team_id": team, "interval": "1d", "parent_request_id": parent},
        ).json()["data"]
    assert sum(point["requests"] for point in series) == 1
    assert sum(point["tokens"] for point in series) == tokens
    assert sum(point["cost_usd"] for point in series) == pytest.approx(record["cost_usd"])
    # Asked for by parent, the series is that run's sub-calls.
    assert sum(point["requests"] for point in runs) == 4
    assert sum(point["tokens"] for point in runs) == tokens

    assert team_cost(stack, team) == pytest.approx(record["cost_usd"])
