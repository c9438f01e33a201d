"""The rewordings real users make hit; near-duplicates that change one meaning-bearing thing miss.

One pair per kind of bench/cache_sets.py's written sets, through the gateway's HTTP API on the
shared Redis store: the first prompt is answered upstream and cached, the second is asked after.
"""

from __future__ import annotations

import httpx
import pytest

from tests.cache.conftest import ask, miss_and_store, received, stats, wait_stored
from tests.support.processes import Gateway

VARIANTS = {
    "polite": ("How do I rotate an API key?", "Could you please tell me how to rotate an API key?"),
    "modal": ("How do I rotate an API key?", "How can I rotate an API key?"),
    "added_word": ("What does HTTP status 429 mean?", "What does HTTP status code 429 mean?"),
    "moved_phrase": ("Who won the World Cup in 2014?", "In 2014, who won the World Cup?"),
    "moved_number": ("Who won the World Cup in 2014?", "Who won the 2014 World Cup?"),
    "contraction": ("What is the refund policy?", "What's the refund policy?"),
    "negated_contraction": (
        "Why does the export page not load?",
        "Why doesn't the export page load?",
    ),
    "numeral_word": (
        "How do I split a file into 3 parts?",
        "How do I split a file into three parts?",
    ),
    "and_swap": (
        "What is the difference between TCP and UDP?",
        "What is the difference between UDP and TCP?",
    ),
}
TRAPS = {
    "operator": (
        "Write a SQL query that deletes rows where status = 'active'",
        "Write a SQL query that deletes rows where status != 'active'",
    ),
    "comparison": (
        "How many rows match WHERE age >= 18 in the users table?",
        "How many rows match WHERE age < 18 in the users table?",
    ),
    "code": ("What does `x = a + b` do?", "What does `x = a - b` do?"),
    "role_order": ("Is Postgres faster than MySQL?", "Is MySQL faster than Postgres?"),
    "units": ("Convert 5 km to miles.", "Convert 5 km to meters."),
    "entity": ("What is the capital of Kenya?", "What is the capital of Ghana?"),
    "number": ("How do I split a file into 3 parts?", "How do I split a file into 4 parts?"),
    "negation": ("Why does my calendar sync?", "Why does my calendar not sync?"),
    "antonym": (
        "How do I enable billing notifications?",
        "How do I disable billing notifications?",
    ),
    "direction": (
        "How long is the train from Paris to Vienna?",
        "How long is the train from Vienna to Paris?",
    ),
    "identifier": ("What does getUserById do?", "What does getUserByName do?"),
}


def _ask_in(gw: Gateway, marker: str, content: str) -> httpx.Response:
    """A prompt in the test's own conversation (its system message), so tests never meet."""
    messages = [{"role": "system", "content": marker}, {"role": "user", "content": content}]
    return ask(gw, "", messages=messages)


def _store_in(gw: Gateway, marker: str, content: str) -> httpx.Response:
    messages = [{"role": "system", "content": marker}, {"role": "user", "content": content}]
    return miss_and_store(gw, "", messages=messages)


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_a_rewording_is_served_the_cached_answer(
    gw: Gateway, sim: httpx.Client, marker: str, kind: str
) -> None:
    cached, asked = VARIANTS[kind]
    original = _store_in(gw, marker, cached)
    variant = _ask_in(gw, marker, asked)
    assert variant.headers["x-gateway-cache"].startswith("semantic;sim=")
    assert variant.json() == original.json()
    assert len(received(sim)) == 1


@pytest.mark.parametrize("kind", sorted(TRAPS))
def test_a_changed_meaning_is_answered_afresh(
    gw: Gateway, sim: httpx.Client, marker: str, kind: str
) -> None:
    cached, asked = TRAPS[kind]
    _store_in(gw, marker, cached)
    trap = _ask_in(gw, marker, asked)
    assert trap.headers["x-gateway-cache"] == "miss"
    assert len(received(sim)) == 2


FAQ = [
    ("reset", "How do I reset my password?"),
    ("cancel", "How do I cancel my subscription?"),
    ("pause", "How do I pause my subscription?"),
    ("reset", "How can I reset my password?"),
    ("cancel", "Please tell me how to cancel my subscription."),
    ("pause", "how can i pause my subscription"),
    ("eu-us", "How do I move my data from the EU to the US?"),
    ("us-eu", "How do I move my data from the US to the EU?"),
    ("reset", "Can you tell me how to reset my password?"),
    ("us-eu", "Can you tell me how to move my data from the US to the EU?"),
    ("5", "How much does a plan with 5 seats cost?"),
    ("10", "How much does a plan with ten seats cost?"),
    ("5", "How much does a plan with five seats cost?"),
    ("10", "How much does a plan with 10 seats cost?"),
]


def test_support_questions_hit_their_own_answers_only(gw: Gateway, marker: str) -> None:
    answers: dict[str, str] = {}
    verdicts = []
    for intent, question in FAQ:
        before = stats(gw)["stored"]
        response = _ask_in(gw, marker, question)
        verdict = response.headers["x-gateway-cache"]
        content = response.json()["choices"][0]["message"]["content"]
        verdicts.append(verdict)
        if verdict == "miss":
            answers.setdefault(intent, content)
            wait_stored(gw, before)
        else:
            assert content == answers[intent], (question, verdict)
    assert verdicts.count("miss") == 7, verdicts
