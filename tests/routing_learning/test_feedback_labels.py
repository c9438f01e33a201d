"""Feedback on an auto request becomes a route label when its group keeps router inputs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.policies.conftest import log_record
from tests.routing_learning.conftest import (
    STRONG,
    WEAK,
    gateway_config,
    labels,
    started,
)
from tests.support.processes import Gateway, Simulator

QUESTION = "What is the capital of Australia, and why is it not Sydney?"


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    groups = {
        "auto": {"default": WEAK, "strong": STRONG, "labels": {"keep_prompts": True}},
        # The router is down, so its default, the strong model, answers.
        "strong-first": {
            "default": STRONG,
            "strong": STRONG,
            "weak": WEAK,
            "labels": {"keep_prompts": True, "max_chars": 100},
        },
        "forgetful": {"default": WEAK, "strong": STRONG},
    }
    gateway = started(gateway_config(simulator, groups), database, tmp_path_factory.mktemp("gw"))
    yield gateway
    gateway.stop()


def _ask(gw: Gateway, model: str, content: str = QUESTION) -> Any:
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    return client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": content}]
    )


def _feedback(gw: Gateway, request_id: str, score: float) -> dict[str, Any]:
    log_record(gw, request_id)  # feedback is taken on requests in the log
    with gw.client() as http:
        response = http.post("/v1/feedback", json={"request_id": request_id, "score": score})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_score_on_the_weak_answer_labels_one_minus_it_and_a_new_score_replaces_it(
    gw: Gateway, database: str
) -> None:
    raw = _ask(gw, "auto")
    assert raw.headers["x-gateway-model"] == WEAK
    request_id = raw.headers["x-request-id"]
    assert _feedback(gw, request_id, 0.25)["route_label"] == 0.75
    [label] = labels(database, request_id)
    assert label["source"] == "feedback" and label["strong_wins"] == 0.75
    pair = (label["auto_group"], label["strong_model"], label["weak_model"])
    assert pair == ("auto", STRONG, WEAK)
    assert label["routed_model"] == WEAK
    assert label["messages"] == [{"role": "user", "content": QUESTION}]
    assert label["detail"]["score"] == 0.25

    assert _feedback(gw, request_id, 1.0)["route_label"] == 0.0
    [label] = labels(database, request_id)
    assert label["strong_wins"] == 0.0


def test_on_the_strong_answer_only_a_poor_score_labels(gw: Gateway, database: str) -> None:
    raw = _ask(gw, "strong-first")
    assert raw.headers["x-gateway-model"] == STRONG
    request_id = raw.headers["x-request-id"]
    assert _feedback(gw, request_id, 0.2)["route_label"] == 0.0
    feedback = [row for row in labels(database, request_id) if row["source"] == "feedback"]
    assert [row["strong_wins"] for row in feedback] == [0.0]
    assert feedback[0]["routed_model"] == STRONG
    # A good strong answer says nothing of the weak one: the earlier label goes.
    assert _feedback(gw, request_id, 0.9)["route_label"] is None
    assert labels(database, request_id) == []


def test_the_kept_input_is_bounded_to_the_newest_text(gw: Gateway, database: str) -> None:
    long_question = "background " * 40 + "so what is the answer?"
    raw = _ask(gw, "strong-first", long_question)
    request_id = raw.headers["x-request-id"]
    assert _feedback(gw, request_id, 0.3)["route_label"] == 0.0
    [label] = labels(database, request_id)
    [message] = label["messages"]
    assert message["content"] == long_question[-100:]


def test_a_group_that_keeps_no_inputs_takes_feedback_without_a_label(
    gw: Gateway, database: str
) -> None:
    raw = _ask(gw, "forgetful")
    request_id = raw.headers["x-request-id"]
    answer = _feedback(gw, request_id, 0.1)
    assert answer["score"] == 0.1 and answer["route_label"] is None
    assert labels(database, request_id) == []


def test_feedback_on_a_plain_request_labels_nothing(gw: Gateway, database: str) -> None:
    raw = _ask(gw, WEAK)
    request_id = raw.headers["x-request-id"]
    assert _feedback(gw, request_id, 0.0)["route_label"] is None
    assert labels(database, request_id) == []
