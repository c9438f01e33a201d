"""When a deployment is saturated: priority classes (a scripted 429 storm from the simulator,
a concurrency limit with `high`'s reserved share) and fair share between two teams of one
token quota. One gateway for the module, in front of the eu simulator."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.policies.conftest import MASTER, backend, base_config, reset, set_policies, team_key
from tests.support.processes import Gateway, Simulator, start_gateway

pytestmark = pytest.mark.timeout(600)

# The fair-share quota: 15000 tokens a minute, counted over a 2 s window (`quota_window_s`:
# a quota counted per minute would need minutes of traffic to refill a few times), measured
# over the 60 s.
QUOTA_TPM = 15_000
QUOTA_WINDOW_S = 2.0
FAIR_SHARE_WINDOWS = 30
ERRORS: Counter[int] = Counter()
ADMIN = {"authorization": f"Bearer {MASTER}"}


class Teams:
    def __init__(self, gateway: Gateway) -> None:
        self.a_team, _, self.a = team_key(gateway, "steady")
        self.b_team, _, self.b = team_key(gateway, "bursty")
        # A key of team A capped at `low`, whatever its requests ask for.
        self.capped_team, self.capped_id, self.capped = team_key(gateway, "capped")


POLICIES: dict[str, Any] = {
    "priority": {
        "enabled": True,
        "queue_s": {"high": 60, "normal": 30, "low": 0},
        "reserved_share": 0.2,
    },
}


@pytest.fixture(scope="module")
def gateway(
    sim_eu: Simulator,
    database_url: str,
    redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory: Path = tmp_path_factory.mktemp("saturation")
    limits = {"max_tpm": QUOTA_TPM, "quota_window_s": QUOTA_WINDOW_S}
    backends = [
        backend(sim_eu, "storm-dep", "m-storm", "eu", serves=["storm"]),
        backend(sim_eu, "narrow-dep", "m-narrow", "eu", serves=["narrow"], max_concurrency=5),
        backend(sim_eu, "quota-dep", "m-quota", "eu", serves=["quota"], **limits),
    ]
    config = base_config(
        database_url,
        redis_prefix,
        directory,
        backends=backends,
        routing={"retries": {"max_attempts": 2, "backoff_base_ms": 1}},
    )
    gw = start_gateway(config, directory, master_key=MASTER)
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def teams(gateway: Gateway) -> Teams:
    teams = Teams(gateway)
    POLICIES["priority"]["keys"] = {teams.capped_id: {"cap": "low"}}
    POLICIES["fair_share"] = {"enabled": True, "weights": {teams.a_team: 1, teams.b_team: 1}}
    set_policies(gateway, POLICIES)
    return teams


def aclient(gateway: Gateway, key: str) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=gateway.v1, api_key=key, max_retries=0, timeout=60)


async def outcome(
    client: openai.AsyncOpenAI, model: str, priority: str, content: str, max_tokens: int = 8
) -> str:
    try:
        await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": content}],
            max_tokens=max_tokens,
            metadata={"priority": priority},
        )
    except openai.RateLimitError as error:
        return str(error.code)
    except openai.APIStatusError as error:
        return f"status {error.status_code}"
    return "ok"


def test_a_429_storm_sheds_low_and_keeps_high_served(
    gateway: Gateway, teams: Teams, sim_eu: Simulator
) -> None:
    reset(sim_eu)
    with sim_eu.client() as sim:
        storm = {"fault": "429", "count": 80, "model": "m-storm", "retry_after": 0.3}
        assert sim.post("/_sim/faults", json=storm).status_code == 201

    async def traffic() -> dict[str, Counter[str]]:
        client = aclient(gateway, teams.a)
        results: dict[str, Counter[str]] = {"high": Counter(), "low": Counter()}

        async def one(cls: str, i: int) -> None:
            results[cls][await outcome(client, "storm", cls, f"storm {cls} {i}")] += 1

        # Waves for ~3 s: the storm outlasts the first Retry-After many times over.
        tasks = []
        for wave in range(10):
            tasks += [asyncio.create_task(one(c, wave * 10 + i)) for c in ("high", "low")
                      for i in range(5)]  # fmt: skip
            await asyncio.sleep(0.3)
        await asyncio.gather(*tasks)
        await client.close()
        return results

    results = asyncio.run(traffic())
    high, low = results["high"], results["low"]
    assert sum(high.values()) == sum(low.values()) == 50
    assert high["ok"] >= 0.95 * 50, results
    assert low["request_shed"] >= 0.5 * 50, results
    with sim_eu.client() as sim:
        left = sim.get("/_sim/faults").json()["queued"]
    assert not left, "the storm was not used up: the test proved nothing"


def test_high_is_served_from_its_reserved_share(
    gateway: Gateway, teams: Teams, sim_eu: Simulator
) -> None:
    """max_concurrency 5, 20 % reserved: 4 lows (1.5 s each) fill the rest, a 5th is shed,
    a high (0.1 s) still gets in at once (well before a low's slot frees up)."""
    with sim_eu.client() as sim:
        sim.post("/_sim/reset").raise_for_status()

    async def scenario() -> tuple[list[str], str, float]:
        client = aclient(gateway, teams.a)

        async def held(i: int) -> str:
            try:
                await client.chat.completions.create(
                    model="narrow", messages=[{"role": "user", "content": f"hold {i}"}],
                    max_tokens=15, metadata={"priority": "low"},
                )  # fmt: skip
            except openai.RateLimitError as error:
                return str(error.code)
            return "ok"

        holders = [asyncio.create_task(held(i)) for i in range(4)]
        # The four are in flight (a loaded machine takes a while to get them there).
        async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN) as http:
            for _ in range(200):
                health = (await http.get("/v1/providers/health")).json()["data"]
                if next(d for d in health if d["deployment"] == "narrow-dep")["in_flight"] == 4:
                    break
                await asyncio.sleep(0.01)
        extra_low = await held(99)
        started = time.monotonic()
        high = await outcome(client, "narrow", "high", "urgent", max_tokens=1)
        waited = time.monotonic() - started
        lows = await asyncio.gather(*holders)
        await client.close()
        return [*lows, extra_low], high, waited

    lows, high, waited = asyncio.run(scenario())
    assert lows[:4] == ["ok"] * 4
    assert lows[4] == "request_shed"
    assert high == "ok"
    assert waited < 1.2, "high waited for a low to finish instead of using its reserve"


def test_two_teams_share_a_token_quota_by_weight_whatever_one_bursts(
    gateway: Gateway, teams: Teams
) -> None:
    """Team A keeps 6 requests queued, team B 60 (10x); each gets half of the tokens.
    Both send `high`, whose share is the whole quota (lower classes see 80 % of it)."""

    async def run() -> tuple[Counter[str], float, dict[str, Any]]:
        served: Counter[str] = Counter()
        errors: Counter[int] = Counter()
        clients = {"a": aclient(gateway, teams.a), "b": aclient(gateway, teams.b)}
        started = time.monotonic()
        # Completions land ~1 window after the first (uncontended) burst, then once a window.
        measure_from = started + QUOTA_WINDOW_S / 2
        measure_to = measure_from + FAIR_SHARE_WINDOWS * QUOTA_WINDOW_S
        stop = measure_to + 0.1

        async def worker(team: str, i: int) -> None:
            n = 0
            while time.monotonic() < stop:
                n += 1
                try:
                    completion = await clients[team].chat.completions.create(
                        model="quota", messages=[{"role": "user", "content": f"{team} {i} {n}"}],
                        max_tokens=40, metadata={"priority": "high"},
                    )  # fmt: skip
                except openai.APIStatusError as error:
                    errors[error.status_code] += 1
                    continue
                if measure_from <= time.monotonic() < measure_to and completion.usage:
                    served[team] += completion.usage.total_tokens

        tasks = [asyncio.create_task(worker("a", i)) for i in range(6)]
        tasks += [asyncio.create_task(worker("b", i)) for i in range(60)]
        await asyncio.sleep(QUOTA_WINDOW_S * 1.5)
        async with httpx.AsyncClient(base_url=gateway.url, headers=ADMIN) as http:
            health = (await http.get("/v1/providers/health")).json()
        await asyncio.sleep(stop - time.monotonic())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for client in clients.values():
            await client.close()
        ERRORS.update(errors)
        return served, measure_to - measure_from, health

    served, seconds, health = asyncio.run(run())
    # Mid-run, most of the 66 requests waited for the quota, visible per class.
    waiting = health["queues"]["quota"]
    assert waiting["high"] >= 30, (waiting, served, ERRORS)
    assert waiting["normal"] == waiting["low"] == 0
    capacity = QUOTA_TPM * seconds / 60
    half = capacity / 2
    assert abs(served["a"] - half) <= 0.1 * half, (served, capacity)
    assert abs(served["b"] - half) <= 0.1 * half, (served, capacity)


def test_metrics_count_requests_per_class_and_team(
    gateway: Gateway, teams: Teams, sim_eu: Simulator
) -> None:
    """A low request shed under a 429, a high one served, and a key capped at low whose
    `high` is served as low: each counted under its class and team."""
    reset(sim_eu)
    with sim_eu.client() as sim:
        storm = {"fault": "429", "count": 1, "model": "m-storm", "retry_after": 0.5}
        assert sim.post("/_sim/faults", json=storm).status_code == 201

    async def requests() -> list[str]:
        team_a, capped = aclient(gateway, teams.a), aclient(gateway, teams.capped)
        shed = await outcome(team_a, "storm", "low", "metrics low")
        served = await outcome(team_a, "storm", "high", "metrics high")
        # During another Retry-After the capped key's `high` is shed as a `low`.
        with sim_eu.client() as sim:
            sim.post("/_sim/faults", json=storm).raise_for_status()
        capped_shed = await outcome(capped, "storm", "low", "metrics capped 1")
        capped_high = await outcome(capped, "storm", "high", "metrics capped 2")
        await team_a.close()
        await capped.close()
        return [shed, served, capped_shed, capped_high]

    assert asyncio.run(requests()) == ["request_shed", "ok", "request_shed", "request_shed"]
    with httpx.Client(base_url=gateway.url) as http:
        text = http.get("/metrics").text

    def value(name: str, **labels: str) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            metric, _, number = line.rpartition(" ")
            if metric.startswith(name + "{"):
                got = ",".join(sorted(metric[len(name) + 1 : -1].split(",")))
                if got == wanted:
                    return float(number)
        return 0.0

    requests = "gateway_priority_requests_total"
    a, capped = teams.a_team, teams.capped_team
    assert value(requests, **{"class": "low"}, team=a, outcome="shed") >= 1
    assert value(requests, **{"class": "high"}, team=a, outcome="served") >= 1
    assert value(requests, **{"class": "low"}, team=capped, outcome="shed") == 2
    assert value(requests, **{"class": "high"}, team=capped, outcome="shed") == 0
    assert value("gateway_priority_tokens_total", **{"class": "high"}, team=a) > 0
    assert "gateway_priority_queue_depth{" in text
