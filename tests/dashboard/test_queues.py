"""The Providers page shows the requests waiting for a saturated model, per priority class.

A gateway of its own, with priority classes on, in front of a simulator whose model takes
8 s and a deployment that takes one request at a time: one request holds it, three wait
(two `high`, one `low`). `/admin/providers` counts them per class, and so does the page in
Chromium; once they are served, nothing is waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.dashboard.conftest import MASTER
from tests.support.browser import chromium_page
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

# Long enough that the holder still holds the seat while Chromium starts, logs in and opens
# the Providers page (at 8 s, on loaded cores, it had answered and a waiting request had
# taken the seat); each class may wait for the three answers before it.
HOLD_MS = 20_000


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    config = {"name": "held", "models": {"m-held": {"latency_ms": HOLD_MS, "ttft_ms": HOLD_MS}}}
    sim = start_simulator(config, tmp_path_factory.mktemp("held-sim"))
    yield sim
    sim.stop()


@pytest.fixture(scope="module")
def gateway(
    simulator: Simulator, dashboard_build: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("queues")
    narrow = {
        "name": "narrow-dep",
        "provider": "simulator",
        "endpoint": simulator.v1,
        "model": "m-held",
        "serves": ["narrow"],
        "max_concurrency": 1,
    }
    config = {
        "gateway": {"ui_dir": str(dashboard_build)},
        "backends": [narrow],
        # No reserved share: with one seat, every class waits for the same one.
        "policies": {
            "priority": {"enabled": True, "queue_s": {"high": 90, "low": 90}, "reserved_share": 0}
        },
    }
    started = start_gateway(config, directory, MASTER, ready_timeout_s=180)
    yield started
    started.stop()


def _send(gateway: Gateway, priority: str, answers: list[int]) -> threading.Thread:
    body = {
        "model": "narrow",
        "messages": [{"role": "user", "content": f"wait as {priority}"}],
        "max_tokens": 1,
        "metadata": {"priority": priority},
    }

    def post() -> None:
        answer = httpx.post(
            f"{gateway.v1}/chat/completions",
            json=body,
            headers={"authorization": f"Bearer {MASTER}"},
            timeout=120,
        )
        answers.append(answer.status_code)

    thread = threading.Thread(target=post)
    thread.start()
    return thread


def _queues(gateway: Gateway) -> dict[str, Any]:
    with gateway.client(MASTER) as http:
        queues: dict[str, Any] = http.get("/admin/providers").json()["queues"]
    return queues


def _wait_for(check: Any, what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.mark.timeout(600)
def test_waiting_requests_per_class_on_the_providers_page(gateway: Gateway) -> None:
    assert _queues(gateway) == {}
    answers: list[int] = []
    holder = _send(gateway, "normal", answers)
    _wait_for(lambda: _in_flight(gateway) == 1, "the holder to take the deployment")
    waiting = [_send(gateway, cls, answers) for cls in ("high", "high", "low")]
    expected = {"narrow": {"high": 2, "normal": 0, "low": 1}}
    _wait_for(lambda: _queues(gateway) == expected, "three requests to queue")
    with chromium_page(timeout_ms=30_000) as page:
        page.goto(f"{gateway.url}/ui/")
        page.get_by_label("Token").fill(MASTER)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("heading", name="Overview")).to_be_visible()
        page.get_by_role("link", name="Providers").click()
        table = page.get_by_role("table", name="Requests waiting per priority class")
        row = table.get_by_role("row").filter(has_text="narrow")
        expect(row.get_by_role("cell")).to_have_text(["narrow", "2", "0", "1"])
    for thread in (holder, *waiting):
        thread.join(timeout=120)
    assert answers == [200] * 4
    assert _queues(gateway) == {}


def _in_flight(gateway: Gateway) -> int:
    with gateway.client(MASTER) as http:
        data = http.get("/admin/providers").json()["data"]
    return int(next(d for d in data if d["deployment"] == "narrow-dep")["in_flight"])
