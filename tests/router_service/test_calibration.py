"""target_strong_share: a replayed prompt set gets that share of strong calls (±5 %) once the
thresholds are recalibrated from the traffic, through the admin call."""

from __future__ import annotations

import random

import httpx
import pytest
from router_service.training.data import load_items
from router_service.training.split import is_validation

from tests.router_service.conftest import ADMIN_TOKEN, DATA_DIR


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


def calibrate(client: httpx.Client, body: dict, token: str | None = ADMIN_TOKEN) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return client.post("/admin/calibrate", json=body, headers=headers)


def test_share_matches_the_target_after_recalibration_from_traffic(
    client: httpx.Client, prompts: list[list[dict]]
) -> None:
    replay(client, prompts, "by-share")
    response = calibrate(client, {"auto_group": "by-share", "min_samples": 100})
    assert response.status_code == 200, response.text
    assert response.json()["groups"][0]["samples"] == len(prompts)
    models = replay(client, prompts, "by-share")
    share = models.count("strong-model") / len(models)
    assert abs(share - 0.3) <= 0.05, share


def test_tiers_follow_their_shares(client: httpx.Client, prompts: list[list[dict]]) -> None:
    replay(client, prompts, "tiers")
    assert calibrate(client, {"auto_group": "tiers", "min_samples": 100}).status_code == 200
    models = replay(client, prompts, "tiers")
    top = models.count("top") / len(models)
    mid_or_top = (models.count("mid") + models.count("top")) / len(models)
    assert abs(top - 0.1) <= 0.05, top
    assert abs(mid_or_top - 0.4) <= 0.05, mid_or_top


def test_calibration_from_scores_the_gateway_sends(client: httpx.Client) -> None:
    scores = [i / 999 for i in range(1000)]
    for group, tier, threshold in (("by-share", 1, 0.7), ("tiers", 2, 0.9)):
        response = calibrate(client, {"auto_group": group, "scores": scores})
        assert response.status_code == 200
        resolved = response.json()["groups"][0]["tiers"][tier]["threshold"]
        assert resolved == pytest.approx(threshold, abs=0.002)


def test_calibration_needs_the_admin_token_and_enough_scores(client: httpx.Client) -> None:
    assert calibrate(client, {"auto_group": "by-share"}, token=None).status_code == 401
    assert calibrate(client, {"auto_group": "by-share"}, token="wrong").status_code == 401
    few = calibrate(client, {"auto_group": "by-share", "scores": [0.5] * 5})
    assert few.status_code == 409
    assert few.json()["error"]["code"] == "not_enough_scores"
    assert calibrate(client, {"auto_group": "nope", "scores": [0.5] * 500}).status_code == 404
