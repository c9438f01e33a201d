"""The dashboard in a real browser: Playwright (dashboard/e2e/) drives Debian's Chromium.

The package's one gateway (conftest) serves the static export at /ui/ in front of the
simulator; this runs the Playwright suite against it. Screenshots of every
page land in `test-artifacts/dashboard/screenshots/` (gitignored); axe-core findings of
serious or critical impact fail the run. The Vitest unit tests run here as well, so
`make test` stays one command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.dashboard.conftest import DASHBOARD, MASTER, REPO
from tests.support.browser import CHROMIUM
from tests.support.processes import Gateway

ARTIFACTS = REPO / "test-artifacts" / "dashboard"
PAGES = (
    "login",
    "overview",
    "logs",
    "providers",
    "routing",
    "routing-review",
    "routing-readonly",
    "keys",
    "keys-readonly",
    "teams",
    "cache",
    "settings",
    "settings-audit",
    "prompts",
    "prompts-readonly",
    "guardrails",
    "guardrails-readonly",
    "optimizer",
    "sessions",
)


def _node_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NEXT_TELEMETRY_DISABLED": "1", "CI": "1", **extra}


def test_dashboard_is_served_at_ui(gateway: Gateway) -> None:
    import httpx

    page = httpx.get(f"{gateway.url}/ui/")
    assert page.status_code == 200 and "<html" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert httpx.get(f"{gateway.url}/ui").headers["location"].endswith("/ui/")
    assert httpx.get(f"{gateway.url}/ui/logs/").status_code == 200


# The whole Playwright run is one test; on shared cores it takes minutes, not seconds.
@pytest.mark.timeout(900)
def test_console_in_chromium(gateway: Gateway) -> None:
    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run does)"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    result = subprocess.run(
        ["npx", "playwright", "test"],
        cwd=DASHBOARD,
        env=_node_env(
            GATEWAY_URL=gateway.url,
            MASTER_KEY=MASTER,
            ARTIFACTS_DIR=str(ARTIFACTS),
            CHROMIUM=CHROMIUM,
        ),
        capture_output=True,
        text=True,
        timeout=840,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    shots = {p.stem for p in (ARTIFACTS / "screenshots").glob("*.png")}
    assert set(PAGES) <= shots, sorted(shots)


@pytest.mark.timeout(600)
def test_unit_tests_pass(dashboard_build: Path) -> None:
    result = subprocess.run(
        ["npx", "vitest", "run"],
        cwd=DASHBOARD,
        env=_node_env(),
        capture_output=True,
        text=True,
        timeout=540,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
