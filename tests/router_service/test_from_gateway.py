"""The deployment teaches its router: auto requests through a real gateway, feedback on
them becomes route labels in Postgres, `router-service train --from-gateway` fits and
measures a checkpoint on them, and the running router-service promotes it only when it
beats the live one on the same held-out labels.

The labels are separable by topic, against what the offline data teaches: the weak model
fails on cooking questions (scored 0: label 1) and does well on proofs and code (scored 1:
label 0), so the shipped router, which sends maths and code to the strong model, is wrong
on them and a router that learnt from them is right.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import yaml
from router_service import checkpoint as checkpoint_io
from router_service.cli import main

from tests.policies.conftest import log_record
from tests.router_service.conftest import ADMIN_TOKEN, DATA_DIR
from tests.router_service.service_process import running_service
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway, start_simulator

WEAK, STRONG = "gpt-4o-mini", "gpt-4o"
AUTH = {"authorization": f"Bearer {ADMIN_TOKEN}"}

DISHES = ("risotto", "lasagne", "paella", "ramen", "curry", "goulash", "pho", "tagine")
MEALS = ("a birthday dinner", "a cold evening", "a picnic", "guests who are vegetarian", "lunch")
CLAIMS = (
    "the square root of 2 is irrational",
    "there are infinitely many primes",
    "the sum of two even integers is even",
    "every finite group of prime order is cyclic",
    "a binary search on a sorted list of n items takes O(log n) steps",
)
TASKS = (
    "reverses a linked list",
    "parses an ISO 8601 date",
    "merges two sorted arrays",
    "computes a moving average over a window",
    "checks whether a string is a palindrome",
    "deduplicates a list keeping the order",
)


def cooking() -> list[str]:
    pairs = itertools.product(DISHES, MEALS)
    return [f"Which {dish} recipe would you suggest for {meal}?" for dish, meal in pairs][:40]


def technical() -> list[str]:
    languages = ("Python", "Java", "C", "Rust", "Go", "TypeScript")
    code = [f"Write a {language} function that {task}." for language in languages for task in TASKS]
    return ([f"Prove that {claim}." for claim in CLAIMS] + code)[:40]


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with scratch_database("router_from_gateway") as url:
        yield url


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("checkpoints")


@pytest.fixture(scope="module")
def service_config(checkpoints: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = {
        "routers": {"minilm": {}},
        # Every request to the weak model: feedback on its answers labels them.
        "auto_groups": {
            "auto": {"strong": STRONG, "weak": WEAK, "router": "minilm", "threshold": 1.0}
        },
        "checkpoints_dir": str(checkpoints),
    }
    path = tmp_path_factory.mktemp("service") / "router-service.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def service(service_config: Path) -> Iterator[str]:
    with running_service({"ROUTER_SERVICE_ADMIN_TOKEN": ADMIN_TOKEN}, service_config) as url:
        yield url


@pytest.fixture(scope="module")
def replica(service_config: Path) -> Iterator[str]:
    """A second replica sharing the checkpoints directory."""
    with running_service({"ROUTER_SERVICE_ADMIN_TOKEN": ADMIN_TOKEN}, service_config) as url:
        yield url


@pytest.fixture(scope="module")
def simulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Simulator]:
    config = {"name": "sim", "default": {"output_tokens": 12}}
    sim = start_simulator(config, tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()


def gateway_config(simulator: Simulator, service: str, database: str) -> dict[str, Any]:
    backends = [
        {"name": n, "provider": "simulator", "endpoint": simulator.v1, "model": m}
        for n, m in (("weak", WEAK), ("strong", STRONG))
    ]
    return {
        "database": {"url": database},
        "backends": backends,
        "routing": {
            "auto_groups": {
                "auto": {"default": WEAK, "strong": STRONG, "labels": {"keep_prompts": True}}
            },
            "router_service": {"url": service, "deadline_ms": 5000},
        },
    }


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator, service: str, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    config = gateway_config(simulator, service, database)
    gateway = start_gateway(config, tmp_path_factory.mktemp("gw"))
    yield gateway
    gateway.stop()


def ask_and_score(gw: Gateway, question: str, score: float) -> None:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": question}]
    )
    assert raw.headers["x-gateway-model"] == WEAK
    request_id = raw.headers["x-request-id"]
    log_record(gw, request_id)  # feedback is taken on requests in the log
    with gw.client() as http:
        answer = http.post("/v1/feedback", json={"request_id": request_id, "score": score})
    assert answer.status_code == 200, answer.text
    assert answer.json()["route_label"] == 1.0 - score


@pytest.fixture(scope="module")
def labelled(gw: Gateway) -> int:
    """80 labels: the weak model's cooking answers scored 0, its technical ones 1."""
    questions = [(q, 0.0) for q in cooking()] + [(q, 1.0) for q in technical()]
    for question, score in questions:
        ask_and_score(gw, question, score)
    return len(questions)


def train(database: str, out: Path, cache: Path, *extra: str) -> dict[str, Any]:
    main(
        [
            "train",
            "--from-gateway",
            database,
            "--out",
            str(out),
            "--data-dir",
            str(DATA_DIR),
            "--benchmarks",
            "mt_bench",
            "--cache",
            str(cache),
            *extra,
        ]
    )
    evaluation = out.with_name(out.stem + ".evaluation.json")
    return dict(json.loads(evaluation.read_text()))


@pytest.fixture(scope="module")
def candidate(
    database: str, labelled: int, checkpoints: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    cache = tmp_path_factory.mktemp("cache") / "mt_bench.npy"
    return train(database, checkpoints / "candidate.npz", cache)


def figures(record: dict[str, Any]) -> tuple[float, float]:
    return record["figures"]["apgr"], record["figures"]["cpt50"]


def test_labels_train_a_checkpoint_measured_on_their_held_out_fifth(
    candidate: dict[str, Any], labelled: int, checkpoints: Path
) -> None:
    assert (checkpoints / "candidate.npz").is_file()
    assert candidate["details"]["labels"] == labelled
    assert candidate["details"]["sources"] == {"feedback": labelled}
    held_out = candidate["held_out_labels"]
    assert 5 <= held_out == labelled - candidate["details"]["train_labels"]
    ours, shipped = figures(candidate["candidate"]), figures(candidate["baseline"])
    extremes = (*candidate["random"].values(), *candidate["oracle"].values())
    for value in (*ours, *shipped, *extremes):
        assert 0.0 <= value <= 1.0
    assert candidate["baseline"]["checkpoint"] == "shipped"
    assert candidate["random"]["apgr"] == pytest.approx(0.5)
    # Separable labels: the trained router beats random (and the shipped one) on them.
    assert candidate["random"]["apgr"] < ours[0] <= candidate["oracle"]["apgr"], candidate
    assert ours[0] > shipped[0], candidate


def scores(service: str, questions: list[str]) -> np.ndarray:
    with httpx.Client(base_url=service, timeout=30) as http:
        answers = [
            http.post("/route", json={"auto_group": "auto", "messages": [user(q)]}).json()
            for q in questions
        ]
    return np.array([answer["score"] for answer in answers])


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def promote(service: str, checkpoint: Any, headers: dict[str, str] = AUTH) -> httpx.Response:
    with httpx.Client(base_url=service, timeout=60, headers=headers) as http:
        return http.post("/admin/router/promote", json={"checkpoint": checkpoint})


def live(service: str) -> dict[str, Any]:
    return dict(httpx.get(f"{service}/health", timeout=10).json()["checkpoint"])


def wait_live(service: str, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 5
    while (current := live(service))["name"] != name and time.monotonic() < deadline:
        time.sleep(0.1)
    return current


def test_the_better_checkpoint_goes_live_and_a_worse_one_is_refused(
    service: str,
    replica: str,
    service_config: Path,
    database: str,
    candidate: dict[str, Any],
    checkpoints: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    kinds = [cooking()[:8], technical()[:8]]
    before = [scores(service, kind).mean() for kind in kinds]
    assert before[0] < before[1]  # the shipped router: maths and code need the strong model
    answer = promote(service, "candidate.npz")
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["promoted"] is True and decision["checkpoint"] == "candidate.npz"
    assert decision["candidate"]["apgr"] == candidate["candidate"]["figures"]["apgr"]
    assert decision["current"]["apgr"] == candidate["baseline"]["figures"]["apgr"]
    assert live(service) == {"name": "candidate.npz", "sha256": candidate["candidate"]["sha256"]}
    record = json.loads((checkpoints / "live.json").read_text())
    assert record["checkpoint"] == "candidate.npz"
    # The other replica follows the record.
    assert wait_live(replica, "candidate.npz")["sha256"] == candidate["candidate"]["sha256"]
    # A replica started now serves it from the start.
    with running_service({}, service_config) as late:
        assert live(late)["name"] == "candidate.npz"
        # Started without an admin token: promotion over HTTP is closed, not open.
        closed = promote(late, "candidate.npz", headers={})
        assert closed.status_code == 403, closed.text
        assert closed.json()["error"]["code"] == "admin_token_not_set"
    # Swapped in the running service: cooking now scores above code and proofs.
    after = [scores(service, kind).mean() for kind in kinds]
    assert after[0] > after[1]

    # Trained without the deployment's labels: measured against the live candidate.
    cache = tmp_path_factory.mktemp("cache-worse") / "mt_bench.npy"
    worse = train(database, checkpoints / "worse.npz", cache, "--gateway-weight", "0")
    assert worse["baseline"]["checkpoint"] == "candidate.npz"
    assert worse["held_out"] == candidate["held_out"]
    refused = promote(service, "worse.npz")
    assert refused.status_code == 409, refused.text
    body = refused.json()
    assert body["error"]["code"] == "not_better"
    assert body["candidate"]["apgr"] < body["current"]["apgr"]
    assert body["current"]["apgr"] == candidate["candidate"]["figures"]["apgr"]
    assert "APGR" in body["error"]["message"]
    assert live(service)["name"] == "candidate.npz"

    # The command decides the same way and says why.
    command = [sys.executable, "-m", "router_service", "promote", str(checkpoints / "worse.npz")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stderr
    assert json.loads(result.stdout)["promoted"] is False
    assert json.loads((checkpoints / "live.json").read_text()) == record
    assert promote(service, "candidate.npz").json()["error"]["code"] == "already_live"


def bad_checkpoints(checkpoints: Path, outside: Path) -> list[Any]:
    """Names a client might send, each of which must be refused."""
    secret = outside / "secret.npz"
    shutil.copy(checkpoints / "candidate.npz", secret)
    shutil.copy(checkpoints / "candidate.evaluation.json", outside / "secret.evaluation.json")
    (checkpoints / "escape.npz").symlink_to(secret)
    (checkpoints / "garbage.npz").write_bytes(b"not a zip file")
    np.savez(checkpoints / "shape.npz", weight_0=np.zeros((3, 1)), bias_0=np.zeros(1))
    shutil.copy(checkpoints / "candidate.npz", checkpoints / "unmeasured.npz")
    narrow = dataclasses.replace(
        checkpoint_io.load(checkpoints / "candidate.npz"), weights=(np.zeros((10, 1)),)
    )
    checkpoint_io.save(narrow, checkpoints / "narrow.npz")
    shutil.copy(checkpoints / "candidate.evaluation.json", checkpoints / "narrow.evaluation.json")
    return [
        "../" + secret.name,
        str(secret),
        "escape.npz",
        "garbage.npz",
        "shape.npz",
        "narrow.npz",
        "unmeasured.npz",
        "missing.npz",
        "candidate.evaluation.json",
        "sub/candidate.npz",
        "candidate.npz\x00",
        "",
        123,
        None,
    ]


def live_record(checkpoints: Path) -> bytes | None:
    path = checkpoints / "live.json"
    return path.read_bytes() if path.exists() else None


def test_a_bad_checkpoint_name_is_refused_and_changes_nothing(
    service: str, candidate: dict[str, Any], checkpoints: Path, tmp_path: Path
) -> None:
    before = live(service)
    recorded = (
        (checkpoints / "live.json").read_bytes() if (checkpoints / "live.json").exists() else None
    )
    for name in bad_checkpoints(checkpoints, tmp_path):
        answer = promote(service, name)
        assert 400 <= answer.status_code < 500 and answer.status_code != 409, (name, answer.text)
        assert answer.json()["error"]["message"], name
    assert promote(service, "candidate.npz", headers={}).status_code == 401
    assert live(service) == before
    after = (
        (checkpoints / "live.json").read_bytes() if (checkpoints / "live.json").exists() else None
    )
    assert after == recorded


def test_too_few_labels_train_nothing(database: str, labelled: int, tmp_path: Path) -> None:
    out = tmp_path / "none.npz"
    with pytest.raises(SystemExit, match="0 route labels of auto group 'elsewhere'"):
        train(database, out, tmp_path / "cache.npy", "--auto-group", "elsewhere")
    assert not out.exists()


def test_a_database_the_gateway_never_used_is_a_clear_error(tmp_path: Path) -> None:
    with scratch_database("router_no_labels") as url, pytest.raises(SystemExit) as refused:
        train(url, tmp_path / "none.npz", tmp_path / "cache.npy")
    assert str(refused.value) == (
        'train --from-gateway: cannot read route_labels: relation "route_labels" does not exist'
    )
    with pytest.raises(SystemExit, match="not a database URL"):
        train("nonsense", tmp_path / "none.npz", tmp_path / "cache.npy")
    assert not (tmp_path / "none.npz").exists()


def test_the_embedded_gateways_sqlite_file_is_read_too(
    simulator: Simulator, service: str, tmp_path: Path
) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'gateway.db'}"
    gateway = start_gateway(gateway_config(simulator, service, database), tmp_path)
    try:
        for question in cooking()[:4]:
            ask_and_score(gateway, question, 0.0)
    finally:
        gateway.stop()
    # Four labels, every one read with its conversation: too few to hold five out.
    with pytest.raises(SystemExit, match=r"4 route labels: \d to train and \d held out"):
        train(database, tmp_path / "few.npz", tmp_path / "cache.npy")
