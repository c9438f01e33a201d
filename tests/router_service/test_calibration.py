"""target_strong_share: a replayed prompt set gets that share of strong calls (±5 %) once the
thresholds are recalibrated from the traffic, through the admin call."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from router_service.training.data import load_items
from router_service.training.split import is_validation

from tests.router_service.conftest import DATA_DIR
from tests.router_service.service_process import running_service

TOKEN = "admin-secret"


@pytest.fixture(scope="module")
def admin_client() -> Iterator[httpx.Client]:
    # A service of its own: recalibration changes thresholds the other tests rely on.
    with running_service({"ROUTER_SERVICE_ADMIN_TOKEN": TOKEN}) as url:
        with httpx.Client(base_url=url, timeout=30.0) as client:
            yield client


@pytest.fixture(scope="module")
def prompts() -> list[list[dict]]:
    """Held-out conversations of all three benchmarks, in a fixed shuffled order."""
    items = [i for i in load_items(DATA_DIR) if is_validation(i)]
    rng = random.Random(7)
    chosen = [i for i in items if i.benchmark == "mt_bench"]
    for benchmark in ("mmlu", "gsm8k"):
        pool = [i for i in items if i.benchmark == benchmark]
        chosen += rng.sample(pool, 90)
    rng.shuffle(chosen)
    return [list(item.messages) for item in chosen]


def replay(client: httpx.Client, prompts: list[list[dict]], group: str) -> list[str]:
    models = []
    for messages in prompts:
        response = client.post("/route", json={"messages": messages, "auto_group": group})
        assert response.status_code == 200, response.text
        models.append(response.json()["model"])
    return models


def calibrate(client: httpx.Client, body: dict, token: str | None = TOKEN) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return client.post("/admin/calibrate", json=body, headers=headers)


def test_share_matches_the_target_after_recalibration_from_traffic(
    admin_client: httpx.Client, prompts: list[list[dict]]
) -> None:
    replay(admin_client, prompts, "by-share")
    response = calibrate(admin_client, {"router": "minilm", "min_samples": 100})
    assert response.status_code == 200, response.text
    assert response.json()["samples"] == len(prompts)
    models = replay(admin_client, prompts, "by-share")
    share = models.count("strong-model") / len(models)
    assert abs(share - 0.3) <= 0.05, share


def test_tiers_follow_their_shares(admin_client: httpx.Client, prompts: list[list[dict]]) -> None:
    replay(admin_client, prompts, "tiers")
    assert calibrate(admin_client, {"router": "minilm", "min_samples": 100}).status_code == 200
    models = replay(admin_client, prompts, "tiers")
    top = models.count("top") / len(models)
    mid_or_top = (models.count("mid") + models.count("top")) / len(models)
    assert abs(top - 0.1) <= 0.05, top
    assert abs(mid_or_top - 0.4) <= 0.05, mid_or_top


def test_calibration_from_scores_the_gateway_sends(admin_client: httpx.Client) -> None:
    scores = [i / 999 for i in range(1000)]
    response = calibrate(admin_client, {"router": "minilm", "scores": scores})
    assert response.status_code == 200
    by_name = {g["name"]: g for g in response.json()["groups"]}
    assert by_name["by-share"]["tiers"][1]["threshold"] == pytest.approx(0.7, abs=0.002)
    top = by_name["tiers"]["tiers"][2]["threshold"]
    assert top == pytest.approx(0.9, abs=0.002)


def test_calibration_needs_the_admin_token_and_enough_scores(admin_client: httpx.Client) -> None:
    assert calibrate(admin_client, {"router": "minilm"}, token=None).status_code == 401
    assert calibrate(admin_client, {"router": "minilm"}, token="wrong").status_code == 401
    few = calibrate(admin_client, {"router": "minilm", "scores": [0.5] * 5})
    assert few.status_code == 409
    assert few.json()["error"]["code"] == "not_enough_scores"
    assert calibrate(admin_client, {"router": "nope", "scores": [0.5] * 500}).status_code == 404
