"""Prompt templates and partials, used through the official SDKs against real processes.

Two gateway replicas share one Postgres database and one Redis prefix; the simulator's
request record shows what reached the upstream.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.support.databases import delete_redis_prefix, scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    sim = start_simulator(
        {"name": "sim", "record_limit": 5000, "default": {"output_tokens": 5}},
        tmp_path_factory.mktemp("sim"),
    )
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Iterator[httpx.Client]:
    with simulator.client() as client:
        client.post("/_sim/reset").raise_for_status()
        yield client


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One Postgres database and one Redis prefix for every replica of the module."""
    prefix = f"gwtest:prompts:{uuid.uuid4().hex[:12]}:"
    with scratch_database("prompts") as url:
        yield url, prefix
    delete_redis_prefix(prefix, REDIS_URL)


def replica(simulator: Simulator, shared: tuple[str, str], directory: Path) -> Gateway:
    url, prefix = shared
    config = {
        "database": {"url": url},
        "redis": {"url": REDIS_URL, "prefix": prefix},
        "backends": [
            {
                "name": "mini",
                "provider": "simulator",
                "endpoint": simulator.v1,
                "model": "gpt-4o-mini",
            },
            {"name": "big", "provider": "simulator", "endpoint": simulator.v1, "model": "gpt-4o"},
        ],
    }
    return start_gateway(config, directory)


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator, shared: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    gateway = replica(simulator, shared, tmp_path_factory.mktemp("first"))
    yield gateway
    gateway.stop()


@pytest.fixture
def second(simulator: Simulator, shared: tuple[str, str], tmp_path: Path) -> Iterator[Gateway]:
    """Another replica on the same database and Redis, for the one test that needs it."""
    gateway = replica(simulator, shared, tmp_path)
    yield gateway
    gateway.stop()


def unique(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


def received(sim: httpx.Client) -> list[dict[str, Any]]:
    return [r["body"] for r in sim.get("/_sim/requests").json()["requests"]]


def make_partials(gw: Gateway) -> dict[str, str]:
    names = {key: unique(key) for key in ("tone", "rules", "footer")}
    texts = {
        "tone": "Answer in a {{tone}} tone.",
        "rules": "Rules: {{> " + names["tone"] + "}} Never reveal {{secret_word}}.",
        "footer": "Company: {{company}}.",
    }
    with gw.client() as http:
        for key in ("tone", "footer", "rules"):  # rules includes tone: tone first
            created = http.post("/admin/partials", json={"name": names[key], "text": texts[key]})
            assert created.status_code == 201, created.text
    return names


def make_prompt(gw: Gateway, partials: dict[str, str], **extra: Any) -> str:
    name = unique("support")
    system = "You help customers. {{> " + partials["rules"] + "}} {{> " + partials["footer"] + "}}"
    body = {
        "name": name,
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": "Customer {{customer}} asks: {{question}}"},
        ],
        "model": "gpt-4o-mini",
        "params": {"temperature": 0.1},
        **extra,
    }
    with gw.client() as http:
        created = http.post("/admin/prompts", json=body)
    assert created.status_code == 201, created.text
    return name


VARIABLES = {
    "tone": "friendly",
    "secret_word": "falcon",
    "company": "Acme",
    "customer": "Ann",
    "question": "Where is my order?",
}


def test_three_partials_render_as_the_dry_run_says_and_reach_the_upstream(
    gw: Gateway, sim: httpx.Client
) -> None:
    name = make_prompt(gw, make_partials(gw))
    with gw.client() as http:
        dry = http.post(f"/admin/prompts/{name}/render", json={"variables": VARIABLES}).json()
    expected_system = (
        "You help customers. Rules: Answer in a friendly tone. Never reveal falcon. Company: Acme."
    )
    assert dry["messages"][0] == {"role": "system", "content": expected_system}
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "and thanks"}],
        extra_body={"prompt_id": name, "prompt_variables": {**VARIABLES, "spare": 1}},
    )
    assert raw.headers["x-gateway-prompt"] == f"{name}@1"
    assert raw.headers["x-gateway-prompt-unused"] == "spare"
    assert raw.parse().choices[0].message.content
    [sent] = received(sim)
    assert sent["messages"] == [*dry["messages"], {"role": "user", "content": "and thanks"}]
    assert sent["temperature"] == 0.1
    assert not {"prompt_id", "prompt_variables"} & set(sent)


def test_a_variable_is_data_never_rendered_again(gw: Gateway, sim: httpx.Client) -> None:
    partials = make_partials(gw)
    name = make_prompt(gw, partials)
    hostile = "{{> " + partials["footer"] + "}} and {{other}} {{{tone}}}"
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key)
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[],
        extra_body={"prompt_id": name, "prompt_variables": {**VARIABLES, "question": hostile}},
    )
    [sent] = received(sim)
    assert sent["messages"][1]["content"] == f"Customer Ann asks: {hostile}"


def test_missing_and_schema_breaking_variables_are_400_and_nothing_is_sent(
    gw: Gateway, sim: httpx.Client
) -> None:
    schema = {
        "type": "object",
        "properties": {"customer": {"type": "string", "maxLength": 20}},
    }
    name = make_prompt(gw, make_partials(gw), variables_schema=schema)
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    with pytest.raises(openai.BadRequestError) as missing:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[],
            extra_body={"prompt_id": name, "prompt_variables": {"customer": "Ann"}},
        )
    message = missing.value.body["message"]  # type: ignore[index]
    for variable in ("company", "question", "secret_word", "tone"):
        assert variable in message
    with pytest.raises(openai.BadRequestError) as broken:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[],
            extra_body={"prompt_id": name, "prompt_variables": {**VARIABLES, "customer": "x" * 30}},
        )
    assert "'customer'" in broken.value.body["message"]  # type: ignore[index]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[], extra_body={"prompt_id": unique("nope")}
        )
    assert received(sim) == []


def test_labels_move_and_the_history_shows_it(gw: Gateway, sim: httpx.Client) -> None:
    name = make_prompt(gw, make_partials(gw))
    v2 = {"messages": [{"role": "user", "content": "v2 for {{customer}}"}], "comment": "shorter"}
    with gw.client() as http:
        assert http.post(f"/admin/prompts/{name}/versions", json=v2).status_code == 201
        moved = http.put(f"/admin/prompts/{name}/labels/production", json={"version": 2})
        assert moved.status_code == 200, moved.text
        staging = http.put(f"/admin/prompts/{name}/labels/staging", json={"version": 1})
        detail = staging.json()
        diff = http.get(f"/admin/prompts/{name}/diff", params={"from": 1, "to": 2}).json()
    assert detail["labels"] == {"production": 2, "staging": 1}
    moves = [(m["label"], m["from_version"], m["to_version"]) for m in detail["label_history"]]
    assert moves == [("production", None, 1), ("production", 1, 2), ("staging", None, 1)]
    assert "+v2 for {{customer}}" in diff["diff"]
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[],
        extra_body={"prompt_id": name, "prompt_variables": {"customer": "Bo"}},
    )
    assert raw.headers["x-gateway-prompt"] == f"{name}@2"
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini",
        messages=[],
        extra_body={"prompt_id": name, "prompt_label": "staging", "prompt_variables": VARIABLES},
    )
    assert raw.headers["x-gateway-prompt"] == f"{name}@1"


def test_a_partial_cycle_is_refused_when_saved(gw: Gateway) -> None:
    a, b = unique("a"), unique("b")
    with gw.client() as http:
        assert http.post("/admin/partials", json={"name": a, "text": "A"}).status_code == 201
        made = http.post("/admin/partials", json={"name": b, "text": "B {{> " + a + "}}"})
        assert made.status_code == 201
        cycle = http.post(
            f"/admin/partials/{a}/versions",
            json={"text": "A {{> " + b + "}}", "labels": ["production"]},
        )
        assert cycle.status_code == 400
        assert "cycle" in cycle.json()["error"]["message"]
        missing = http.post(
            "/admin/prompts",
            json={"name": unique("p"), "messages": [{"role": "user", "content": "{{> nowhere}}"}]},
        )
        assert missing.status_code == 400
        assert http.get(f"/admin/partials/{a}").json()["latest_version"] == 1


def test_readonly_reads_and_cannot_write(gw: Gateway) -> None:
    with gw.client() as http:
        token = http.post("/admin/tokens", json={"name": unique("ro"), "role": "readonly"})
    secret = token.json()["token"]
    name = make_prompt(gw, make_partials(gw))
    with gw.client(secret) as http:
        assert http.get(f"/admin/prompts/{name}").status_code == 200
        refused = http.post(
            f"/admin/prompts/{name}/versions", json={"messages": [{"role": "user", "content": "x"}]}
        )
        assert refused.status_code == 403


def test_messages_api_gets_the_template_system_as_system(gw: Gateway, sim: httpx.Client) -> None:
    name = make_prompt(gw, make_partials(gw))
    client = anthropic.Anthropic(base_url=gw.url, api_key=gw.master_key)
    raw = client.messages.with_raw_response.create(
        model="gpt-4o-mini",
        max_tokens=20,
        messages=[{"role": "user", "content": "and thanks"}],
        extra_body={"prompt_id": name, "prompt_variables": VARIABLES},
    )
    assert raw.headers["x-gateway-prompt"] == f"{name}@1"
    [sent] = received(sim)
    # Anthropic Messages to an OpenAI-format backend: the system text leads the chat again.
    assert sent["messages"][0]["role"] == "system"
    assert sent["messages"][0]["content"].startswith("You help customers. Rules:")
    assert sent["messages"][-1]["content"] == "and thanks"


def test_a_change_on_one_replica_is_used_by_the_other_within_a_second(
    gw: Gateway, second: Gateway, sim: httpx.Client
) -> None:
    first = gw
    name = unique("live")
    with first.client() as http:
        http.post(
            "/admin/prompts",
            json={
                "name": name,
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "one"}],
            },
        )
    client = openai.OpenAI(base_url=second.v1, api_key=second.master_key)

    def version_on_second() -> str:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[], extra_body={"prompt_id": name}
        )
        return raw.headers["x-gateway-prompt"]

    assert version_on_second() == f"{name}@1"  # now cached on the second replica
    with first.client() as http:
        http.post(
            f"/admin/prompts/{name}/versions",
            json={"messages": [{"role": "user", "content": "two"}], "labels": ["production"]},
        )
    changed = time.monotonic()
    while version_on_second() != f"{name}@2":
        assert time.monotonic() - changed < 1.0, "the second replica still serves version 1"
        time.sleep(0.02)


def test_an_experiment_splits_70_30_sticky_per_user_and_reports_its_outcomes(
    gw: Gateway, sim: httpx.Client
) -> None:
    name = unique("ab")
    with gw.client() as http:
        http.post(
            "/admin/prompts",
            json={
                "name": name,
                "model": "gpt-4o-mini",
                "messages": [{"role": "user", "content": "A"}],
            },
        )
        http.post(
            f"/admin/prompts/{name}/versions", json={"messages": [{"role": "user", "content": "B"}]}
        )
        set_up = http.put(
            f"/admin/prompts/{name}/experiment",
            json={
                "variants": [
                    {"version": 1, "weight": 70, "name": "a"},
                    {"version": 2, "weight": 30, "name": "b"},
                ],
                "sticky_by": "user",
            },
        )
        assert set_up.status_code == 200, set_up.text
    users = [f"user-{i}" for i in range(200)]
    seen: dict[str, set[str]] = defaultdict(set)
    ids: dict[str, list[str]] = defaultdict(list)

    async def one(http: httpx.AsyncClient, user: str) -> None:
        body = {"model": "gpt-4o-mini", "messages": [], "prompt_id": name, "user": user}
        response = await http.post("/v1/chat/completions", json=body)
        assert response.status_code == 200, response.text
        variant = response.headers["x-gateway-prompt"]
        seen[user].add(variant)
        ids[variant].append(response.headers["x-request-id"])

    async def workload() -> None:
        headers = {"authorization": f"Bearer {gw.master_key}"}
        # Idle connections are dropped before the server's keep-alive ends, so none is
        # reused just as the server closes it.
        limits = httpx.Limits(keepalive_expiry=2)
        async with httpx.AsyncClient(
            base_url=gw.url, headers=headers, timeout=60, limits=limits
        ) as http:
            for start in range(0, 2000, 50):
                batch = [users[i % 200] for i in range(start, start + 50)]
                await asyncio.gather(*(one(http, user) for user in batch))

    asyncio.run(workload())
    assert all(len(variants) == 1 for variants in seen.values())
    counts = Counter({variant: len(found) for variant, found in ids.items()})
    assert abs(counts[f"{name}@1"] / 2000 - 0.7) <= 0.03, counts
    # Feedback: a scripted score per variant, sent for the first 40 requests of each.
    scores = {f"{name}@1": [0.2, 0.4], f"{name}@2": [0.9, 1.0]}
    time.sleep(1.5)  # the spend log writes in batches
    with gw.client() as http:
        for variant, values in scores.items():
            for index, request_id in enumerate(ids[variant][:40]):
                sent = http.post(
                    "/v1/feedback", json={"request_id": request_id, "score": values[index % 2]}
                )
                assert sent.status_code == 200, sent.text
        results = http.get(f"/admin/prompts/{name}/experiment/results").json()["variants"]
    by_name = {row["variant"]: row for row in results}
    assert by_name["a"]["requests"] == counts[f"{name}@1"]
    assert by_name["b"]["requests"] == counts[f"{name}@2"]
    assert by_name["a"]["feedback_count"] == 40
    assert by_name["a"]["feedback_mean"] == pytest.approx(0.3)
    assert by_name["b"]["feedback_mean"] == pytest.approx(0.95)
    low, high = by_name["b"]["feedback_ci95"]
    assert low < 0.95 < high


def test_feedback_only_for_your_own_requests(gw: Gateway) -> None:
    with gw.client() as http:
        keys = [
            http.post("/admin/keys", json={"name": unique("k")}).json()["key"] for _ in range(2)
        ]
    mine = openai.OpenAI(base_url=gw.v1, api_key=keys[0])
    raw = mine.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
    )
    request_id = raw.headers["x-request-id"]
    time.sleep(1.5)
    other = httpx.post(
        f"{gw.url}/v1/feedback",
        headers={"authorization": f"Bearer {keys[1]}"},
        json={"request_id": request_id, "score": 0.5},
    )
    assert other.status_code == 404
    own = httpx.post(
        f"{gw.url}/v1/feedback",
        headers={"authorization": f"Bearer {keys[0]}"},
        json={"request_id": request_id, "score": 0.5},
    )
    assert own.status_code == 200, own.text
    bad = httpx.post(
        f"{gw.url}/v1/feedback",
        headers={"authorization": f"Bearer {keys[0]}"},
        json={"request_id": request_id, "score": 2},
    )
    assert bad.status_code == 400
