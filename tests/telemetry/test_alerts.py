"""Alert rules and the dashboard: valid, and about metrics the gateway really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.telemetry.conftest import Plain

INFRA = Path(__file__).resolve().parents[2] / "infra"
RULES = INFRA / "alerts" / "gateway.rules.yml"
RULE_TESTS = INFRA / "alerts" / "gateway.tests.yml"
DASHBOARD = INFRA / "grafana" / "llm-gateway.json"
ALERTS = {
    "ProviderErrorRateHigh",
    "CircuitOpen",
    "GatewayOverheadP99High",
    "BudgetAlmostSpent",
    "CacheHitRateDropped",
    "SpendSpoolBacklog",
}
_METRIC = re.compile(r"\b(gateway_[a-z_]+)")
PROMTOOL = shutil.which("promtool")


def exported_families(plain: Plain) -> set[str]:
    text = httpx.get(f"{plain.gateway.url}/metrics", timeout=10).text
    names = set()
    # A labelled family shows no sample until something is counted: name what it will.
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    for family in text_string_to_metric_families(text):
        names.update(family.name + s for s in suffixes.get(family.type, ("",)))
    return names


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_rules_name_every_alert_and_only_exported_metrics(plain: Plain) -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["alert"] for rule in rules} == ALERTS
    exported = exported_families(plain)
    for rule in rules:
        assert {"summary", "description"} <= set(rule["annotations"])
        assert rule["labels"]["severity"] in {"page", "warn", "info"}
        for metric in _METRIC.findall(rule["expr"]):
            assert metric in exported, (rule["alert"], metric)


def test_the_dashboard_queries_only_exported_metrics(plain: Plain) -> None:
    exported = exported_families(plain)
    queries = dashboard_queries()
    assert len(queries) >= 20
    used = {metric for query in queries for metric in _METRIC.findall(query)}
    assert used <= exported

    # Every metric family the gateway exports has a panel.
    def family(name: str) -> str:
        return re.sub(r"_(total|bucket|count|sum)$", "", name)

    charted = {family(name) for name in used}
    assert {family(name) for name in exported if not name.endswith("_created")} == charted


@pytest.mark.skipif(PROMTOOL is None, reason="promtool (Debian: prometheus) is not installed")
def test_promtool_accepts_the_rules_and_their_unit_tests_pass() -> None:
    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 6 rules found" in checked.stdout
    tested = subprocess.run(
        [PROMTOOL, "test", "rules", str(RULE_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=RULE_TESTS.parent,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
