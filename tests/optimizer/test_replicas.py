"""Two gateway processes on one Postgres and one Redis: a request's optimizer run starts on
one, its sub-calls land on the other. The delegated credential minted by the first is
honoured by the second (its calls counted in Redis, its records rolled up on the parent),
and the second holds it to the same scope: its model, `max_calls`, the run's lifetime."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml

from tests.optimizer.conftest import (
    MASTER,
    Stack,
    assert_rolled_up,
    gateway_config,
    read_catalogue,
    start_around,
)
from tests.optimizer.test_approaches import QUESTION, calls_in
from tests.optimizer.test_delegation import CHAT, held_run, sim_total
from tests.support.databases import scratch_database, scratch_redis_prefix
from tests.support.processes import (
    Gateway,
    free_port,
    spawn_optimizer,
    start_gateway,
    wait_ready,
)

pytestmark = pytest.mark.timeout(600)


@dataclass
class Replicas:
    stack: Stack  # its gateway takes the requests; the optimizer calls the other
    other: Gateway


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    directory = tmp_path_factory.mktemp("optimizer-replicas")
    first_port, other_port, optimizer_port = free_port(), free_port(), free_port()
    log = directory / "optimizer.log"
    # The optimizer's sub-calls go to the other gateway, never the one that minted.
    optimizer = spawn_optimizer(
        optimizer_port, f"http://127.0.0.1:{other_port}/v1", log, "--keepalive-s", "0.05"
    )
    with ExitStack() as started:
        started.callback(optimizer.stop)
        database = started.enter_context(scratch_database("optimizer_replicas"))
        prefix = started.enter_context(scratch_redis_prefix("optimizer_replicas"))
        simulator, otlp, tap = start_around(directory, optimizer_port, started)
        gateways = []
        for port in (first_port, other_port):
            config = gateway_config(simulator, tap, directory)
            config["spend"]["spool_dir"] = str(directory / f"spool-{port}")
            config["observability"]["tracing"] = False
            config["database"] = {"url": database}
            config["redis"] = {"url": "redis://127.0.0.1:6379/0", "prefix": prefix}
            gateway = start_gateway(
                config, directory, master_key=MASTER, port=port, ready_timeout_s=300
            )
            started.callback(gateway.stop)
            gateways.append(gateway)
        optimizer.wait_ready()
        read_catalogue(gateways[0])
        yield Replicas(Stack(simulator, gateways[0], optimizer.url, tap, otlp), gateways[1])


def test_sub_calls_on_another_replica_are_counted_under_the_parent(replicas: Replicas) -> None:
    stack = replicas.stack
    raw = stack.client().chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=QUESTION,  # type: ignore[arg-type]
        max_tokens=64,
        extra_body={"optillm_approach": "moa"},
    )
    assert raw.parse().choices[0].message.content
    header = raw.headers["x-gateway-optimizer"]
    assert calls_in(header) == 3
    record = assert_rolled_up(stack, raw.headers["x-request-id"], 3)
    assert f"tokens={record['prompt_tokens'] + record['completion_tokens']}" in header


def test_the_other_replica_holds_the_credential_to_its_model_cap_and_run(
    replicas: Replicas,
) -> None:
    stack = replicas.stack
    optimizer = {"url": f"http://127.0.0.1:{stack.tap.port}", "max_calls": 4}
    with stack.reconfigured("optimizer", optimizer), held_run(stack) as minted:
        run = dataclasses.replace(minted, gateway_url=replicas.other.url)
        other_model = run.post("/v1/chat/completions", {**CHAT, "model": "m-slow"})
        embeddings = run.post("/v1/embeddings", {"model": "text-embedding-3-small", "input": "x"})
        before = sim_total(stack)
        # Two calls made (the optimizer's, and the one refused for its model: it was made);
        # five more at once on the other replica: two fit under the cap of four.
        with ThreadPoolExecutor(5) as pool:
            extra = list(pool.map(lambda _: run.post("/v1/chat/completions", CHAT), range(5)))
        reached = sim_total(stack) - before
    answer = minted.answer()
    after = [gateway.post("/v1/chat/completions", CHAT) for gateway in (run, minted)]
    assert other_model.status_code == 403
    assert other_model.json()["error"]["code"] == "delegation_scope"
    assert embeddings.status_code == 403
    assert sorted(r.status_code for r in extra) == [200, 200, 429, 429, 429]
    for refused in (r for r in extra if r.status_code == 429):
        assert refused.json()["error"]["code"] == "optimizer_max_calls"
    assert reached == 2
    assert answer.status_code == 200
    assert "calls=4" in answer.headers["x-gateway-optimizer"]
    children = stack.sub_calls(minted.parent, expected=4)
    assert sorted(child["status"] for child in children) == [200, 200, 200, 403]
    record = stack.record(minted.parent)
    assert record["cost_usd"] == pytest.approx(sum(child["cost_usd"] for child in children))
    # Ended: refused by both replicas.
    for refused in after:
        assert refused.status_code == 401
        assert "ended" in refused.json()["error"]["message"]


def test_without_its_redis_a_gateway_mints_no_credential_and_admits_none(
    replicas: Replicas, tmp_path: Path
) -> None:
    stack = replicas.stack
    config = gateway_config(stack.simulator, stack.tap, tmp_path)
    config["observability"]["tracing"] = False
    # Nothing listens there: every Redis call fails at once.
    config["redis"] = {"url": f"redis://127.0.0.1:{free_port()}/0"}
    gateway = start_gateway(config, tmp_path, master_key=MASTER, ready_timeout_s=300)
    try:
        with gateway.client() as client:
            before = len(stack.tap.credentials())
            answer = client.post(
                "/v1/chat/completions", json={**CHAT, "optillm_approach": "moa"}, timeout=120
            )
            forged = "sk-gwdel-" + "x" * 43
            refused = client.post(
                "/v1/chat/completions", json=CHAT, headers={"authorization": f"Bearer {forged}"}
            )
    finally:
        gateway.stop()
    # One plain call answered; the optimizer was never asked.
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-gateway-optimizer"] == "moa; fallback=unavailable"
    assert len(stack.tap.credentials()) == before
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "delegation_unavailable"


def test_two_workers_on_one_port_serve_runs_whose_sub_calls_reach_either(
    replicas: Replicas, tmp_path: Path
) -> None:
    """docker-compose's default: GATEWAY_WORKERS=2 with the optimizer (and Redis)."""
    stack = replicas.stack
    port, optimizer_port = free_port(), free_port()
    optimizer = spawn_optimizer(
        optimizer_port, f"http://127.0.0.1:{port}/v1", tmp_path / "optimizer.log"
    )
    with ExitStack() as started:
        started.callback(optimizer.stop)
        database = started.enter_context(scratch_database("optimizer_workers"))
        prefix = started.enter_context(scratch_redis_prefix("optimizer_workers"))
        config = gateway_config(stack.simulator, stack.tap, tmp_path)
        config["observability"]["tracing"] = False
        config["optimizer"]["url"] = optimizer.url
        config["database"] = {"url": database}
        config["redis"] = {"url": "redis://127.0.0.1:6379/0", "prefix": prefix}
        workers = start_workers(config, tmp_path, port)
        started.callback(workers.stop)
        optimizer.wait_ready()
        read_catalogue(workers)
        client = openai.OpenAI(base_url=workers.v1, api_key=MASTER, max_retries=0)
        ask = {
            "model": "gpt-4o-mini",
            "messages": QUESTION,
            "max_tokens": 64,
            "extra_body": {"optillm_approach": "moa"},
        }
        with ThreadPoolExecutor(4) as pool:
            answers = list(
                pool.map(
                    lambda _: client.chat.completions.with_raw_response.create(**ask), range(8)
                )
            )
        on_workers = dataclasses.replace(stack, gateway=workers)
        for raw in answers:
            assert calls_in(raw.headers["x-gateway-optimizer"]) == 3
            assert_rolled_up(on_workers, raw.headers["x-request-id"], 3)


def start_workers(config: dict[str, Any], directory: Path, port: int) -> Gateway:
    """`llm-proxy serve --workers 2` on `port`: one supervisor, two worker processes."""
    path = directory / f"workers-{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "GATEWAY_MASTER_KEY": MASTER, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "llm_proxy", "serve", "--config", str(path)]
    command += ["--port", str(port), "--workers", "2"]
    process = subprocess.Popen(
        command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, f"{url}/ready", timeout_s=300)
    return Gateway(process, url, MASTER, path)
