"""Semantic hits on harmless rewordings; misses on near-duplicates that ask something else."""

from __future__ import annotations

import httpx
import pytest

from tests.cache.conftest import ask, configure, miss_and_store, received, verdict
from tests.support.processes import Gateway, free_port

QUESTION = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning. "
    "How many eggs are left to sell?"
)
VARIANTS = {
    "case": QUESTION.upper(),
    "whitespace": "  " + QUESTION.replace(" ", "   ").replace(". ", ".\n\n") + "  ",
    "punctuation": QUESTION.replace("?", "??")
    .replace("Janet's", "Janet\u2019s")
    .replace(". ", "; "),
    "filler": "Hey, quick question: " + QUESTION + " Thanks!",
    "reordered": "How many eggs are left to sell? Janet's ducks lay 16 eggs per day. "
    "She eats three for breakfast every morning.",
}
TRAPS = {
    "number": QUESTION.replace("16", "18"),
    "negation": QUESTION.replace("She eats", "She does not eat"),
    "entity": QUESTION.replace("Janet's", "Maria's"),
    "unit": QUESTION.replace("per day", "per week"),
    "word": QUESTION.replace("breakfast", "dinner"),
}
CODE = "Why does `parse_config(path)` raise KeyError when the file is empty?"
CODE_TRAP = "Why does `parse_configs(path)` raise KeyError when the file is empty?"
OPTIONS = "Which planet is largest?\nA. Mars\nB. Jupiter\nC. Venus\nD. Earth\nAnswer:"
SWAPPED = "Which planet is largest?\nA. Jupiter\nB. Mars\nC. Venus\nD. Earth\nAnswer:"


@pytest.mark.parametrize("kind", sorted(VARIANTS))
def test_a_reworded_prompt_gets_the_stored_answer(
    gw: Gateway, sim: httpx.Client, marker: str, kind: str
) -> None:
    original = miss_and_store(gw, f"{marker} {QUESTION}")
    variant = ask(gw, f"{marker} {VARIANTS[kind]}")
    assert variant.headers["x-gateway-cache"].startswith("semantic;sim=")
    assert float(variant.headers["x-gateway-cache"].split("=")[1]) >= 0.8
    assert variant.json() == original.json()
    assert len(received(sim)) == 1


@pytest.mark.parametrize("kind", sorted(TRAPS))
def test_a_near_duplicate_asking_something_else_misses(
    gw: Gateway, sim: httpx.Client, marker: str, kind: str
) -> None:
    miss_and_store(gw, f"{marker} {QUESTION}")
    trap = ask(gw, f"{marker} {TRAPS[kind]}")
    assert trap.headers["x-gateway-cache"] == "miss"
    # The simulator echoes the prompt: the answer is the trap's own, not the stored one.
    assert TRAPS[kind].split()[0] in trap.json()["choices"][0]["message"]["content"]
    assert len(received(sim)) == 2


@pytest.mark.parametrize(("stored", "trap"), [(CODE, CODE_TRAP), (OPTIONS, SWAPPED)])
def test_identifiers_and_answer_options_must_match(
    gw: Gateway, marker: str, stored: str, trap: str
) -> None:
    miss_and_store(gw, f"{marker} {stored}")
    assert verdict(gw, f"{marker} {trap}") == "miss"
    assert verdict(gw, f"{marker} {stored.lower()}").startswith("semantic;")


# A pasted log longer than the encoder reads (256 word pieces at most): two prompts that share
# it embed alike whatever follows, so only the guard, which reads them whole, tells them apart.
LOG = "\n".join(
    f"2026-12-02T10:{minute:02d}:00Z worker-{minute % 3} retry {minute} of job sync-{minute * 7}"
    for minute in range(40)
)
LOG_QUESTION = f"{LOG}\nWhy did job sync-273 fail at 10:39?"


def test_past_the_embedded_window_a_changed_question_misses(gw: Gateway, marker: str) -> None:
    miss_and_store(gw, f"{marker} {LOG_QUESTION}")
    assert verdict(gw, f"{marker} {LOG_QUESTION.replace('sync-273', 'sync-266')}") == "miss"
    assert verdict(gw, f"{marker} {LOG}\nWhy did job sync-273 not fail at 10:39?") == "miss"


def test_past_the_embedded_window_a_reworded_question_hits(gw: Gateway, marker: str) -> None:
    stored = miss_and_store(gw, f"{marker} {LOG_QUESTION}")
    reworded = ask(
        gw, f"{marker} {LOG}\nHi! Please tell me why did job sync-273 fail at 10:39? Thanks!"
    )
    assert reworded.headers["x-gateway-cache"].startswith("semantic;")
    assert reworded.json() == stored.json()


def test_the_conversation_around_the_prompt_must_match(gw: Gateway, marker: str) -> None:
    system = {"role": "system", "content": f"{marker} You answer in French."}
    other = {"role": "system", "content": f"{marker} You answer in German."}
    prompt = {"role": "user", "content": QUESTION}
    variant = {"role": "user", "content": VARIANTS["case"]}
    miss_and_store(gw, "", messages=[system, prompt])
    assert verdict(gw, "", messages=[system, variant]).startswith("semantic;")
    assert verdict(gw, "", messages=[other, variant]) == "miss"


def test_a_prompt_of_courtesies_alone_is_matched_exactly_only(gw: Gateway, marker: str) -> None:
    # Nothing in "Hi there!" carries meaning, so no rewording of it can be shown harmless.
    system = {"role": "system", "content": f"{marker} You are a support agent."}
    greeting = {"role": "user", "content": "Hi there!"}
    miss_and_store(gw, "", messages=[system, greeting])
    assert verdict(gw, "", messages=[system, {"role": "user", "content": "Hello there!"}]) == (
        "miss"
    )
    assert verdict(gw, "", messages=[system, greeting]) == "hit"


def test_hot_requests_are_matched_exactly_only(gw: Gateway, marker: str) -> None:
    configure(gw, semantic={"enabled": True, "max_temperature": 0.5})
    miss_and_store(gw, f"{marker} {QUESTION}", temperature=0.9)
    assert verdict(gw, f"{marker} {QUESTION}", temperature=0.9) == "hit"
    assert verdict(gw, f"{marker} {VARIANTS['case']}", temperature=0.9) == "miss"


def test_a_stricter_threshold_per_model_is_honoured(gw: Gateway, marker: str) -> None:
    configure(gw, semantic={"enabled": True, "thresholds": {"gpt-4o-mini": 1.0}})
    miss_and_store(gw, f"{marker} {QUESTION}")
    assert verdict(gw, f"{marker} {VARIANTS['filler']} Please reply.") == "miss"


def test_without_its_embedder_the_cache_serves_exact_hits_only(gw: Gateway, marker: str) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    configure(gw, semantic={"enabled": True, "embedder": nowhere, "embedder_timeout_ms": 200})
    miss_and_store(gw, f"{marker} {QUESTION}")
    assert verdict(gw, f"{marker} {QUESTION}") == "hit"
    assert verdict(gw, f"{marker} {VARIANTS['case']}") == "miss"


def test_semantic_off_means_exact_only(gw: Gateway, marker: str) -> None:
    configure(gw, semantic={"enabled": False})
    miss_and_store(gw, f"{marker} {QUESTION}")
    assert verdict(gw, f"{marker} {VARIANTS['case']}") == "miss"
