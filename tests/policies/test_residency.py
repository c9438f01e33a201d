"""Residency through the openai SDK: a team limited to `eu` is served by the eu simulator only,
also through a fallback, an equivalent, `model: auto`, the cache and the optimizer; with no
eu deployment left it gets 403 `no_deployment_in_region` and nothing is sent anywhere."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from tests.policies.conftest import (
    MASTER,
    backend,
    base_config,
    log_record,
    received,
    reset,
    set_policies,
    sub_calls,
    team_key,
)
from tests.router_service.service_process import running_service
from tests.router_service.test_route import HARD
from tests.support.processes import Gateway, Simulator, free_port, spawn_optimizer, start_gateway

# The optimizer imports OptiLLM (a minute or more on a busy machine).
pytestmark = pytest.mark.timeout(600)


class Teams:
    def __init__(self, gateway: Gateway) -> None:
        self.eu_team, _, self.eu = team_key(gateway, "eu")
        self.us_team, _, self.us = team_key(gateway, "us")
        self.free_team, _, self.free = team_key(gateway, "free")
        # A key of the free team that its own policy limits to eu.
        _, self.eu_key_id, self.eu_key = team_key(gateway, "keyed")


@pytest.fixture(scope="module")
def gateway(
    sim_eu: Simulator,
    sim_us: Simulator,
    database_url: str,
    redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory: Path = tmp_path_factory.mktemp("residency")
    optimizer_port, gateway_port = free_port(), free_port()
    optimizer = spawn_optimizer(
        optimizer_port, f"http://127.0.0.1:{gateway_port}/v1", directory / "optimizer.log"
    )
    prices = {"input_cost_per_mtok": 150, "output_cost_per_mtok": 600}
    try:
        with running_service() as router_url:
            config = base_config(
                database_url,
                redis_prefix,
                directory,
                backends=[
                    backend(sim_eu, "eu-mini", "gpt-4o-mini", "eu", **prices),
                    backend(sim_us, "us-mini", "gpt-4o-mini", "us", **prices),
                    backend(sim_us, "us-strong", "gpt-4o", "us", **prices),
                    backend(sim_eu, "eu-flaky", "m-flaky", "eu", serves=["flaky"]),
                    backend(sim_us, "us-backup", "gpt-4o-mini", "us", serves=["backup"]),
                    backend(sim_us, "us-only", "gpt-4o-mini", "us", serves=["us-only"]),
                ],
                routing={
                    "fallbacks": {"flaky": ["backup", "gpt-4o-mini"]},
                    "equivalents": {"us-only": ["gpt-4o-mini"]},
                    "auto_groups": {"auto": {"default": "gpt-4o-mini", "strong": "gpt-4o"}},
                    "router_service": {"url": router_url, "deadline_ms": 5000},
                    "retries": {"max_attempts": 1, "backoff_base_ms": 1},
                },
                cache={"enabled": True},
                optimizer={"url": f"http://127.0.0.1:{optimizer_port}", "deadline_ms": 20000},
            )
            gw = start_gateway(config, directory, master_key=MASTER, port=gateway_port)
            try:
                optimizer.wait_ready()
                yield gw
            finally:
                gw.stop()
    finally:
        optimizer.stop()


@pytest.fixture(scope="module")
def teams(gateway: Gateway) -> Teams:
    teams = Teams(gateway)
    set_policies(
        gateway,
        {
            "residency": {
                "gdpr": {"regions": ["eu"], "teams": [teams.eu_team]},
                "us-data": {"regions": ["us"], "teams": [teams.us_team]},
                "eu-key": {"regions": ["eu"], "keys": [teams.eu_key_id]},
            }
        },
    )
    return teams


@pytest.fixture
def sims(sim_eu: Simulator, sim_us: Simulator) -> tuple[Simulator, Simulator]:
    reset(sim_eu, sim_us)
    return sim_eu, sim_us


def client(gateway: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0)


def ask(gateway: Gateway, key: str, model: str, content: str = "hello", **extra: Any) -> Any:
    return client(gateway, key).chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}], max_tokens=16, **extra
    )


def test_an_eu_team_is_served_in_the_eu_only(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    sim_eu, sim_us = sims
    for i in range(8):
        raw = ask(gateway, teams.eu, "gpt-4o-mini", f"residency {i}")
        assert raw.headers["x-gateway-region"] == "eu"
        assert raw.headers["x-gateway-deployment"] == "eu-mini"
    assert received(sim_eu) == 8
    assert received(sim_us) == 0
    record = log_record(gateway, raw.headers["x-request-id"])
    assert record["region"] == "eu"
    assert record["deployment"] == "eu-mini"


def test_a_fallback_never_goes_abroad(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    _, sim_us = sims
    raw = ask(gateway, teams.eu, "flaky")
    # `backup` (us only) is skipped: the next fallback with an eu deployment answers.
    assert raw.headers["x-gateway-deployment"] == "eu-mini"
    assert raw.headers["x-gateway-fallback"] == "flaky"
    assert received(sim_us) == 0
    # Unrestricted, the first fallback (in the us) answers: the chain itself goes abroad.
    free = ask(gateway, teams.free, "flaky")
    assert free.headers["x-gateway-deployment"] == "us-backup"


def test_an_equivalent_stands_in_within_the_region(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    _, sim_us = sims
    raw = ask(gateway, teams.eu, "us-only")
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"
    assert raw.headers["x-gateway-region"] == "eu"
    assert received(sim_us) == 0


def test_auto_does_not_pick_a_model_served_only_abroad(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    _, sim_us = sims
    free = ask(gateway, teams.free, "auto", HARD)
    assert free.headers["x-gateway-model"] == "gpt-4o"  # the router's choice, in the us
    reset(sim_us)
    raw = ask(gateway, teams.eu, "auto", HARD)
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"
    assert raw.headers["x-gateway-region"] == "eu"
    assert "fallback=unserved_model" in raw.headers["x-gateway-route"]
    assert received(sim_us) == 0


def test_no_deployment_in_region_is_403_naming_the_policy_and_nothing_is_sent(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    sim_eu, sim_us = sims
    with pytest.raises(openai.PermissionDeniedError) as refused:
        ask(gateway, teams.eu, "gpt-4o")
    error = refused.value
    assert error.status_code == 403
    assert error.code == "no_deployment_in_region"
    assert "gdpr" in error.message
    # Through the optimizer too: refused before any sub-call.
    with pytest.raises(openai.PermissionDeniedError) as optimized:
        ask(gateway, teams.eu, "gpt-4o", extra_body={"optillm_approach": "moa"})
    assert optimized.value.code == "no_deployment_in_region"
    assert received(sim_eu) == 0
    assert received(sim_us) == 0
    record = log_record(gateway, error.response.headers["x-request-id"])
    assert record["status"] == 403
    assert record["region"] is None


def test_a_request_narrows_its_regions_but_never_widens_them(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    _, sim_us = sims
    # Unrestricted team: the request's own region holds (body metadata, or the header).
    for i in range(4):
        raw = ask(gateway, teams.free, "gpt-4o-mini", f"narrow {i}", metadata={"region": "us"})
        assert raw.headers["x-gateway-region"] == "us"
        by_header = client(gateway, teams.free).chat.completions.with_raw_response.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": f"by header {i}"}],
            extra_headers={"x-gateway-region": "eu"},
        )
        assert by_header.headers["x-gateway-region"] == "eu"
    with pytest.raises(openai.PermissionDeniedError) as widened:
        ask(gateway, teams.eu, "gpt-4o-mini", metadata={"region": "us"})
    assert widened.value.code == "region_not_permitted"
    assert "gdpr" in widened.value.message
    with pytest.raises(openai.BadRequestError):
        ask(gateway, teams.free, "gpt-4o-mini", extra_body={"metadata": {"region": 7}})
    # A key's own policy binds it inside its (unrestricted) team.
    keyed = ask(gateway, teams.eu_key, "gpt-4o-mini", "key-bound")
    assert keyed.headers["x-gateway-region"] == "eu"
    assert received(sim_us) == 4


def test_cached_answers_from_another_region_are_not_served(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    sim_eu, _ = sims
    prompt = "cache residency question"
    us = ask(gateway, teams.free, "gpt-4o-mini", prompt, metadata={"region": "us"})
    assert us.headers["x-gateway-cache"] == "miss"
    assert us.headers["x-gateway-region"] == "us"
    # The same team, now bound to the eu: the us answer is not theirs to get.
    eu = ask(gateway, teams.free, "gpt-4o-mini", prompt, metadata={"region": "eu"})
    assert eu.headers["x-gateway-cache"] == "miss"
    assert eu.headers["x-gateway-region"] == "eu"
    assert received(sim_eu) == 1
    # Asked again in the eu, the eu answer is served from the cache.
    for _ in range(50):
        again = ask(gateway, teams.free, "gpt-4o-mini", prompt, metadata={"region": "eu"})
        if again.headers["x-gateway-cache"] == "hit":
            break
    assert again.headers["x-gateway-cache"] == "hit"


def test_an_optimizers_sub_calls_stay_in_the_region(
    gateway: Gateway, teams: Teams, sims: tuple[Simulator, Simulator]
) -> None:
    sim_eu, sim_us = sims
    raw = ask(gateway, teams.eu, "gpt-4o-mini", "A train leaves at 9 and arrives at 11.",
              extra_body={"optillm_approach": "moa"})  # fmt: skip
    assert raw.headers["x-gateway-optimizer"].startswith("moa; ")
    children = sub_calls(gateway, raw.headers["x-request-id"], 3)
    assert len(children) == 3
    assert {child["region"] for child in children} == {"eu"}
    assert received(sim_eu) == 3
    assert received(sim_us) == 0
    # A request's own region reaches its sub-calls the same way.
    reset(sim_eu)
    free = ask(gateway, teams.free, "gpt-4o-mini", "Two trains.", metadata={"region": "us"},
               extra_body={"optillm_approach": "moa"})  # fmt: skip
    children = sub_calls(gateway, free.headers["x-request-id"], 3)
    assert {child["region"] for child in children} == {"us"}
    assert received(sim_eu) == 0
