"""The spend log: exactly one record per identified request, whatever its outcome; none
lost while the database is unreachable, at SIGTERM, or across a restart; usage read back."""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from llm_proxy.pipeline.tokens import estimate_prompt_tokens

from tests.control.conftest import MASTER, MakeGateway, admin, chat, create, records
from tests.control.tcp_proxy import TcpProxy
from tests.support.processes import Gateway, Simulator


def wait_for(check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out waiting for the spend log"
        time.sleep(0.05)


def logged(database_url: str, prefix: str) -> list[dict[str, Any]]:
    """Rows whose client-sent x-request-id (the correlation field) starts with `prefix`."""
    return records(database_url, "client_request_id LIKE %s", prefix + "%")


def send(gateway: Gateway, request_id: str, body: dict[str, Any], key: str = MASTER) -> int:
    headers = {"authorization": f"Bearer {key}", "x-request-id": request_id}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http:
        return http.post("/v1/chat/completions", json=body).status_code


BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def run_id() -> str:
    return f"t{secrets.token_hex(6)}-"


def test_one_record_per_outcome(
    gateway: Gateway, simulator: Simulator, database_url: str, run_id: str
) -> None:
    key = create(gateway, "keys", name="outcomes")
    assert send(gateway, run_id + "ok", BODY, key["key"]) == 200
    streamed = {**BODY, "stream": True, "stream_options": {"include_usage": True}}
    assert send(gateway, run_id + "stream", {**streamed, "model": "m-streamy"}) == 200
    assert send(gateway, run_id + "not-allowed", {**BODY, "max_tokens": "x"}) == 400
    assert send(gateway, run_id + "no-model", {"messages": BODY["messages"]}) == 400
    assert send(gateway, run_id + "stranger", BODY, key="sk-gw-unknown") == 401
    with simulator.client() as sim:
        sim.post("/_sim/faults", json={"fault": "500", "count": 20, "model": "gpt-4o"})
        try:
            assert send(gateway, run_id + "upstream", {**BODY, "model": "gpt-4o"}) == 502
        finally:
            sim.post("/_sim/reset")
    wait_for(lambda: len(logged(database_url, run_id)) == 5)
    rows = {
        row["client_request_id"].removeprefix(run_id): row for row in logged(database_url, run_id)
    }
    assert set(rows) == {"ok", "stream", "not-allowed", "no-model", "upstream"}
    ok = rows["ok"]
    assert ok["status"] == 200 and ok["key_id"] == key["id"]
    assert ok["model_routed"] == "gpt-4o-mini" and ok["provider"] == "simulator"
    assert ok["completion_tokens"] == 12 and ok["prompt_tokens"] > 0 and ok["cost_usd"] > 0
    assert ok["latency_ms"] > 0 and ok["prompt_hash"]
    stream = rows["stream"]
    assert stream["stream"] and stream["completion_tokens"] == 20 and stream["ttft_ms"] > 0
    assert rows["not-allowed"]["status"] == 400
    assert rows["no-model"]["error_type"] == "invalid_request"
    upstream = rows["upstream"]
    assert upstream["status"] == 502 and upstream["error_type"] == "upstream_error"
    assert upstream["attempts"] >= 1


def test_a_client_leaving_mid_stream_is_settled_for_what_was_streamed(
    gateway: Gateway, database_url: str, run_id: str
) -> None:
    body = {**BODY, "model": "m-trickle", "stream": True}
    headers = {"authorization": f"Bearer {MASTER}", "x-request-id": run_id + "left"}
    with (
        httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        chunks = response.iter_bytes()
        for _ in range(5):
            next(chunks)
    wait_for(lambda: len(logged(database_url, run_id)) == 1)
    row = logged(database_url, run_id)[0]
    assert row["stream"] and 0 < row["completion_tokens"] < 200
    # The upstream never reported usage: the prompt is charged at the gateway's own count
    # (this gateway has no limit that would have counted it before).
    assert row["prompt_tokens"] == estimate_prompt_tokens(body) > 0


def test_a_cut_stream_is_charged_for_the_prompt_as_counted(
    gateway: Gateway, simulator: Simulator, database_url: str, run_id: str
) -> None:
    key = create(gateway, "keys", name="cut")
    body = {**BODY, "model": "m-streamy", "stream": True, "stream_options": {"include_usage": True}}
    with simulator.client() as sim:
        sim.post("/_sim/faults", json={"fault": "cut", "count": 1, "model": "m-streamy"})
    headers = {"authorization": f"Bearer {key['key']}", "x-request-id": run_id + "cut"}
    with (
        httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as http,
        http.stream("POST", "/v1/chat/completions", json=body) as response,
    ):
        assert response.status_code == 200
        assert b"ended before completion" in response.read()
    wait_for(lambda: len(logged(database_url, run_id)) == 1)
    row = logged(database_url, run_id)[0]
    counted = estimate_prompt_tokens(body)
    assert row["prompt_tokens"] == counted > 0
    with admin(gateway) as http:
        usage = http.get(f"/v1/keys/{key['id']}/usage").json()
    assert usage["daily"]["prompt_tokens"] == counted


@pytest.fixture
def postgres_proxy() -> Iterator[TcpProxy]:
    proxy = TcpProxy("127.0.0.1", 5432)
    proxy.restore()
    yield proxy
    proxy.close()


def test_no_record_is_lost_while_the_database_is_unreachable(
    make_gateway: MakeGateway,
    database_name: str,
    database_url: str,
    postgres_proxy: TcpProxy,
    tmp_path: Path,
    run_id: str,
) -> None:
    via_proxy = f"postgresql+psycopg://postgres@127.0.0.1:{postgres_proxy.port}/{database_name}"
    gw = make_gateway(database=via_proxy, spend={"retry_interval_s": 0.2})
    spool = tmp_path / "spool"

    def load(target: Gateway, phase: str, count: int) -> None:
        ids = [f"{run_id}{phase}-{i}" for i in range(count)]
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda request_id: send(target, request_id, BODY), ids))
        assert statuses == [200] * count

    load(gw, "before", 40)
    postgres_proxy.cut()
    load(gw, "during", 40)
    # The spool proper, not the write-ahead file (which holds every record for a moment).
    wait_for(
        lambda: any(
            f.stat().st_size for f in spool.glob("*.jsonl") if not f.name.endswith(".wal.jsonl")
        )
    )
    postgres_proxy.restore()
    load(gw, "after", 40)
    wait_for(lambda: len(logged(database_url, run_id)) == 120)

    # Stopped while the database is away: the queue drains to the spool, and the next
    # process replays it. That one writes nothing until its own SIGTERM drains it.
    postgres_proxy.cut()
    load(gw, "at-stop", 10)
    gw.stop()
    postgres_proxy.restore()
    assert len(logged(database_url, run_id)) == 120
    quiet = {"flush_interval_ms": 60000, "batch_size": 10000}
    successor = make_gateway(database=via_proxy, spend=quiet)
    wait_for(lambda: len(logged(database_url, run_id)) == 130)
    load(successor, "drained", 25)
    assert len(logged(database_url, run_id)) == 130
    successor.stop()
    rows = logged(database_url, run_id)
    ids = [row["client_request_id"] for row in rows]
    assert len(ids) == len(set(ids)) == 155
    assert len({row["request_id"] for row in rows}) == 155


def test_a_damaged_spooled_record_holds_up_nothing_behind_it(
    make_gateway: MakeGateway, tmp_path: Path, run_id: str
) -> None:
    """Records a dead process left in its spool file are replayed at the next start; one
    that cannot be written (no times, naive times, a value no column takes) is dropped
    with an error, and the records behind it and the new ones are written."""
    url = f"sqlite+aiosqlite:///{tmp_path}/gateway.db"
    spool = tmp_path / "spool"
    spool.mkdir()
    now = "2026-12-03T12:00:00.000000+00:00"

    def spooled(name: str, **fields: Any) -> bytes:
        row = {"request_id": f"req_{run_id}{name}", "client_request_id": run_id + name}
        row |= {"started_at": now, "finished_at": now, "api": "chat", "latency_ms": 1.0}
        row |= {"status": 200, "prompt_tokens": 1, "completion_tokens": 1, "cost_usd": 0.0}
        return orjson.dumps({**row, **fields}) + b"\n"

    lines = [
        spooled("first"),
        spooled("no-times", started_at=None),
        spooled("naive", started_at="2026-12-03T12:00:00", finished_at="2026-12-03T12:00:00"),
        spooled("not-a-flag", stream="yes"),
        spooled("behind"),
    ]
    tag = hashlib.sha256(url.encode()).hexdigest()[:12]
    (spool / f"{tag}-999999999.jsonl").write_bytes(b"".join(lines))

    gw = make_gateway(database=url)
    assert send(gw, run_id + "live", BODY) == 200

    def written() -> set[str]:
        with sqlite3.connect(tmp_path / "gateway.db") as db:
            found = db.execute("SELECT client_request_id FROM request_log").fetchall()
        return {name.removeprefix(run_id) for (name,) in found if name}

    wait_for(lambda: {"first", "behind", "live"} <= written())
    assert written() == {"first", "behind", "live"}
    assert gw.output is not None
    assert "dropping record req_" + run_id + "not-a-flag" in gw.output.text()
    assert not any(f.stat().st_size for f in spool.glob("*.jsonl") if ".wal." not in f.name)


def test_the_write_ahead_files_stay_small_under_steady_traffic(
    make_gateway: MakeGateway, database_url: str, tmp_path: Path, run_id: str
) -> None:
    """Each flush empties the file of the records it wrote while traffic goes on: the
    files hold the records of a flush or two, not everything since traffic began."""
    gw = make_gateway(spend={"flush_interval_ms": 100})
    spool = tmp_path / "spool"
    pending: list[int] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            pending.append(sum(f.read_bytes().count(b"\n") for f in spool.glob("*.wal.jsonl")))
            time.sleep(0.02)

    def steady(sender: int) -> None:
        for i in range(100):
            assert send(gw, f"{run_id}steady-{sender}-{i}", BODY) == 200

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(steady, range(4)))
    finally:
        done.set()
        watcher.join()
    wait_for(lambda: len(logged(database_url, run_id)) == 400)
    assert max(pending) < 150, f"up to {max(pending)} of 400 records in the write-ahead files"
    wait_for(lambda: not any(f.stat().st_size for f in spool.glob("*.wal.jsonl")), 5.0)


def test_usage_by_team_and_key(gateway: Gateway, database_url: str) -> None:
    budget = create(
        gateway, "budgets", name=f"b-{secrets.token_hex(3)}", usd_daily=1.0, tokens_monthly=100000
    )
    team = create(gateway, "teams", name=f"t-{secrets.token_hex(3)}", budget_id=budget["id"])
    key = create(gateway, "keys", team_id=team["id"])
    other = create(gateway, "keys", name="other team")
    for _ in range(3):
        assert chat(gateway, key["key"]).status_code == 200
    assert chat(gateway, key["key"], model="gpt-4o").status_code == 200

    def usage(path: str, secret: str) -> httpx.Response:
        with gateway.client(secret) as http:
            return http.get(path)

    team_path = f"/v1/teams/{team['id']}/usage"
    wait_for(lambda: usage(team_path, MASTER).json()["daily"]["requests"] == 4)
    body = usage(team_path, key["key"]).json()
    daily, monthly = body["daily"], body["monthly"]
    assert daily["tokens"] == daily["prompt_tokens"] + daily["completion_tokens"] > 0
    assert daily["limit_usd"] == 1.0 and daily["pct_usd"] == round(100 * daily["cost_usd"], 2)
    assert monthly["limit_tokens"] == 100000
    assert monthly["pct_tokens"] == round(100 * monthly["tokens"] / 100000, 2)
    top = {m["model"]: m for m in body["top_models"]}
    assert top["gpt-4o-mini"]["requests"] == 3 and top["gpt-4o"]["requests"] == 1
    key_usage = usage(f"/v1/keys/{key['id']}/usage", key["key"]).json()
    assert key_usage["monthly"]["requests"] == 4
    assert usage(team_path, other["key"]).status_code == 403
    assert usage(f"/v1/keys/{key['id']}/usage", other["key"]).status_code == 403
    assert usage("/v1/teams/team_missing/usage", MASTER).status_code == 404
    assert usage(team_path, "sk-gw-unknown").status_code == 401
