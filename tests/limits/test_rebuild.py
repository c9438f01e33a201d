"""After a Redis loss, `llm-proxy limits rebuild` puts the budget counters back from the
request log (real Postgres, real Redis under this module's prefix), and budgets hold again."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import yaml
from llm_proxy.limits.periods import this_month, today

from tests.limits.conftest import MASTER_KEY, Counters, chat, gateway_config, launch
from tests.limits.test_budgets import PRICEY, client, create
from tests.limits.test_budgets import database_url as database_url
from tests.support.processes import Gateway, Simulator


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator,
    store: Counters,
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    gateway = launch(
        simulator,
        tmp_path_factory.mktemp("rebuild"),
        ["m-plain"],
        {},
        store.prefix,
        prices={"m-pricey": PRICEY},
        database_url=database_url,
    )
    yield gateway
    gateway.stop()


def rebuild(config_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    command = [sys.executable, "-m", "llm_proxy", "limits", "rebuild", "--config", str(config_path)]
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)


def budget_counters(store: Counters) -> dict[str, tuple[int, int]]:
    """Every budget counter: (held, settled), by its key as the gateway names it."""
    found: dict[str, tuple[int, int]] = {}
    stored = store.stored
    for raw in store.client.scan_iter(match=f"{stored}budget:*", count=500):
        key = raw.decode()
        if ":alert:" in key:
            continue
        held, settled = store.client.hmget(key, "t", "s")
        found[key.removeprefix(stored)] = (int(held or 0), int(settled or 0))
    return found


def lose_redis(store: Counters) -> None:
    """What a Redis loss leaves: none of this gateway's keys (only its own prefix)."""
    keys = store.keys()
    if keys:
        store.client.delete(*keys)


def logged(gw: Gateway, team: str, count: int) -> None:
    """The spend log is written in batches: wait (bounded) until `count` records are in."""
    with gw.client(MASTER_KEY) as http:
        for _ in range(250):
            rows = http.get("/admin/logs", params={"team_id": team, "limit": 100}).json()["data"]
            if len(rows) >= count:
                return
            threading.Event().wait(0.02)
    raise AssertionError(f"{len(rows)} of {count} requests logged")


def settled(store: Counters) -> dict[str, tuple[int, int]]:
    """Budget counters once no reservation is held on any: settles land in the background."""
    for _ in range(250):
        counters = budget_counters(store)
        if all(held == done for held, done in counters.values()):
            return counters
        threading.Event().wait(0.02)
    raise AssertionError(f"reservations still held: {counters}")


def test_rebuilt_counters_equal_the_lost_ones_and_budgets_hold_again(
    gw: Gateway, store: Counters
) -> None:
    team_budget = create(
        gw,
        "/admin/budgets",
        {"name": "rebuild-team", "usd_daily": 50, "usd_monthly": 500, "tokens_daily": 100_000},
    )
    key_budget = create(gw, "/admin/budgets", {"name": "rebuild-key", "tokens_monthly": 100_000})
    team = create(gw, "/admin/teams", {"name": "rebuild-team", "budget_id": team_budget["id"]})
    key = create(
        gw,
        "/admin/keys",
        {"name": "rebuild-key", "team_id": team["id"], "budget_id": key_budget["id"]},
    )
    caller = client(gw, key["key"])
    for _ in range(4):  # $10 each: $40 of the team's $50 a day
        caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
    for _ in range(3):
        caller.chat.completions.create(**chat("m-plain", max_tokens=5))
    logged(gw, team["id"], 7)
    before = settled(store)
    day, month = today().name, this_month().name
    assert sorted(before) == sorted(
        [
            f"budget:key:{key['id']}:tokens:{month}",
            f"budget:team:{team['id']}:usd:{day}",
            f"budget:team:{team['id']}:usd:{month}",
            f"budget:team:{team['id']}:tokens:{day}",
        ]
    )
    assert before[f"budget:team:{team['id']}:usd:{day}"] == (40 * 10**9, 40 * 10**9)

    lose_redis(store)
    assert budget_counters(store) == {}
    done = rebuild(gw.config_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "key: 1 with a budget, 1 counters rebuilt, 0 kept (already as high)",
        "team: 1 with a budget, 3 counters rebuilt, 0 kept (already as high)",
        "user: 0 with a budget, 0 counters rebuilt, 0 kept (already as high)",
    ]
    assert budget_counters(store) == before
    for counter in before:
        assert 0 < store.client.pttl(f"{store.stored}{counter}") <= 32 * 86_400_000

    caller.chat.completions.create(**chat("m-pricey", max_tokens=10))  # $50: the last one
    with pytest.raises(openai.RateLimitError) as refused:
        caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
    assert refused.value.response.json()["error"]["code"] == "budget_exceeded"
    assert "$50 of $50" in refused.value.response.json()["error"]["message"]


def test_a_rebuild_never_lowers_a_counter(gw: Gateway, store: Counters) -> None:
    made = create(gw, "/admin/budgets", {"name": "rebuild-higher", "tokens_daily": 100_000})
    team = create(gw, "/admin/teams", {"name": "rebuild-higher", "budget_id": made["id"]})
    key = create(gw, "/admin/keys", {"name": "rebuild-higher", "team_id": team["id"]})
    client(gw, key["key"]).chat.completions.create(**chat("m-plain", max_tokens=5))
    logged(gw, team["id"], 1)
    counter = f"budget:team:{team['id']}:tokens:{today().name}"
    assert settled(store)[counter][0] > 0
    # Newer than the log: what a counter holds for requests still in flight.
    store.client.hset(f"{store.stored}{counter}", mapping={"t": 10_000, "s": 9_000})
    done = rebuild(gw.config_path)
    assert done.returncode == 0, done.stderr
    assert budget_counters(store)[counter] == (10_000, 9_000)
    # Every counter already held what the log says, this one more: none was written.
    lines = done.stdout.splitlines()
    assert len(lines) == 3 and all(" 0 counters rebuilt" in line for line in lines), lines


def test_without_redis_there_is_nothing_to_rebuild(
    simulator: Simulator, tmp_path: Path, database_url: str
) -> None:
    config = gateway_config(simulator, tmp_path, ["m-plain"], {}, None, database_url=database_url)
    path = tmp_path / "gateway.yaml"
    path.write_text(yaml.safe_dump(config))
    done = rebuild(path)
    assert done.returncode != 0
    assert "redis.url is not set" in done.stderr
