"""The dashboard in a real browser: Playwright (dashboard/e2e/) drives Debian's Chromium.

This test builds the static export (cached), starts a gateway that serves it at /ui/ in
front of the simulator, and runs the Playwright suite against it. Screenshots of every
page land in `test-artifacts/dashboard/screenshots/` (gitignored); axe-core findings of
serious or critical impact fail the run. The Vitest unit tests run here as well, so
`make test` stays one command.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dashboard.conftest import DASHBOARD, MASTER, REPO, gateway_config
from tests.support.processes import Gateway, Simulator, start_gateway

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
PAGES = (
    "login",
    "overview",
    "logs",
    "providers",
    "keys",
    "keys-readonly",
    "teams",
    "cache",
    "settings",
)


@pytest.fixture(scope="module")
def console(
    simulator: Simulator,
    postgres_url: str,
    dashboard_build: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("console")
    config = gateway_config(
        simulator, directory, postgres_url, gateway={"ui_dir": str(dashboard_build)}
    )
    started = start_gateway(config, directory, MASTER, ready_timeout_s=120)
    yield started
    started.stop()


def _node_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "NEXT_TELEMETRY_DISABLED": "1", "CI": "1", **extra}


# The first test here builds the dashboard when no cached build matches: minutes.
@pytest.mark.timeout(1800)
def test_dashboard_is_served_at_ui(console: Gateway) -> None:
    import httpx

    page = httpx.get(f"{console.url}/ui/")
    assert page.status_code == 200 and "<html" in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert httpx.get(f"{console.url}/ui").headers["location"].endswith("/ui/")
    assert httpx.get(f"{console.url}/ui/logs/").status_code == 200


# The whole Playwright run is one test; on shared cores it takes minutes, not seconds.
@pytest.mark.timeout(900)
def test_console_in_chromium(console: Gateway) -> None:
    assert Path(CHROMIUM).exists(), "apt-get install chromium (.ci/run does)"
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    result = subprocess.run(
        ["npx", "playwright", "test"],
        cwd=DASHBOARD,
        env=_node_env(
            GATEWAY_URL=console.url,
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
