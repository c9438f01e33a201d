"""`llm-proxy serve --workers N`: N worker processes on one port, state kept outside them.

One gateway of two workers on a scratch Postgres database and a Redis prefix of its own:
it answers on one port, `/metrics` is the sum over both workers whichever answers the
scrape, every request ends in exactly one spend-log row, SIGTERM stops all of it. Without
Redis, N > 1 is refused with one line, for `serve` and for `run`.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.support.databases import scratch_database
from tests.support.processes import Simulator, free_port, wait_ready

MASTER_KEY = "sk-gw-master-workers-test"
# Two workers import the whole gateway on a machine that may be busy: allow for it.
START_S = 360
pytestmark = pytest.mark.timeout(START_S + 120)


@dataclass
class Workers:
    process: subprocess.Popen[str]
    url: str
    database_url: str


def _start(config: dict[str, object], directory: Path, workers: int) -> subprocess.Popen[str]:
    path = directory / f"gateway-{secrets.token_hex(3)}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "GATEWAY_MASTER_KEY": MASTER_KEY, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llm_proxy",
            "serve",
            "--config",
            str(path),
            "--workers",
            str(workers),
        ],
        cwd=directory,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def two_workers(
    simulator: Simulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workers]:
    directory = tmp_path_factory.mktemp("workers")
    port = free_port()
    with scratch_database("workers") as database_url:
        config = {
            "gateway": {"listen": {"host": "127.0.0.1", "port": port}},
            "database": {"url": database_url},
            "redis": {
                "url": "redis://127.0.0.1:6379/0",
                "prefix": f"gw-test-workers-{secrets.token_hex(4)}:",
            },
            "spend": {"spool_dir": str(directory / "spool")},
            "backends": [
                {
                    "name": "sim",
                    "provider": "simulator",
                    "endpoint": simulator.v1,
                    "model": "gpt-4o-mini",
                }
            ],
        }
        process = _start(config, directory, workers=2)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_ready(process, f"{url}/ready", timeout_s=START_S)
            yield Workers(process, url, database_url)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=30)


def _workers_of(parent: int) -> list[int]:
    """The worker processes under the supervisor (not multiprocessing's resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "spawn_main" in command:
            found.append(int(entry.name))
    return found


def _requests_counted(url: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == "gateway_requests"
        for sample in family.samples
        if sample.name == "gateway_requests_total"
    )


def _chat(url: str) -> int:
    # A new connection each time, so the kernel hands them to either worker.
    response = httpx.post(
        f"{url}/v1/chat/completions",
        headers={"authorization": f"Bearer {MASTER_KEY}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
        timeout=30,
    )
    return response.status_code


def test_two_workers_serve_one_port_and_count_every_request_once(two_workers: Workers) -> None:
    assert len(_workers_of(two_workers.process.pid)) == 2
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: _chat(two_workers.url), range(40)))
    assert statuses == [200] * 40
    # Whichever worker answers the scrape, it reports both workers' requests.
    assert {_requests_counted(two_workers.url) for _ in range(10)} == {40.0}
    rows = _spend_rows(two_workers.database_url, expect=40)
    assert rows == 40


def _spend_rows(database_url: str, expect: int) -> int:
    dsn = database_url.replace("postgresql+psycopg://", "postgresql://")
    deadline = time.monotonic() + 30
    while True:
        with psycopg.connect(dsn) as connection:
            row = connection.execute(
                "SELECT count(*), count(DISTINCT request_id) FROM request_log"
            ).fetchone()
        assert row is not None
        count, distinct = row
        assert count == distinct
        if count >= expect or time.monotonic() > deadline:
            return int(count)
        time.sleep(0.2)


def test_sigterm_stops_the_supervisor_and_every_worker(two_workers: Workers) -> None:
    workers = _workers_of(two_workers.process.pid)
    assert workers
    two_workers.process.send_signal(signal.SIGTERM)
    assert two_workers.process.wait(timeout=60) == 0
    for pid in workers:
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )


def _refusal(process: subprocess.Popen[str]) -> str:
    output, _ = process.communicate(timeout=120)
    assert process.returncode != 0
    return output.strip()


def test_several_workers_without_redis_are_refused_in_one_line(tmp_path: Path) -> None:
    config = {
        "backends": [{"name": "m", "provider": "openai", "model": "gpt-4o-mini"}],
        "database": {"url": f"sqlite+aiosqlite:///{tmp_path}/gateway.db"},
    }
    output = _refusal(_start(config, tmp_path, workers=2))
    assert output.splitlines() == [
        "--workers 2 needs redis.url: limits and budgets would be counted per process "
        "(set redis.url, or run one worker)"
    ]
    with_cache = {**config, "limits": {"enabled": False}, "cache": {"enabled": True}}
    assert "the cache would be counted per process" in _refusal(
        _start(with_cache, tmp_path, workers=3)
    )
    assert not (tmp_path / "gateway.db").exists(), "refused before touching anything"


def test_make_run_with_gateway_workers_is_refused_without_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(GATEWAY_WORKERS="2", GATEWAY_PORT=str(free_port()), GATEWAY_MASTER_KEY=MASTER_KEY)
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_proxy", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert "--workers 2 needs redis.url" in _refusal(process).splitlines()[-1]
