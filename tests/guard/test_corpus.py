"""Per-entity precision and recall of the PII check on the generated corpus (≥ 2,000 texts).

The corpus is made by `tests/guard/make_corpus.py` (fixed seed); the committed file must be
what the script makes, so the measured texts are the ones anyone can regenerate. The check
runs as the gateway runs it: a screen compiled from a `pii` policy covering every entity.
"""

from __future__ import annotations

import json
from collections import Counter

from llm_proxy.config.guardrails import PII_ENTITIES, Guardrails
from llm_proxy.guard.policies import Policies

from tests.guard import make_corpus

PRECISION_BAR, RECALL_BAR = 0.99, 0.98


def _screen():  # type: ignore[no-untyped-def]
    config = Guardrails.model_validate(
        {"policies": [{"name": "pii", "checks": {"pii": {"action": "alert"}}}]}
    )
    return Policies(config).plan("request", "any-model", None, None).screen


def _measure() -> tuple[dict[str, Counter[str]], list[str]]:
    screen = _screen()
    counts: dict[str, Counter[str]] = {entity: Counter() for entity in PII_ENTITIES}
    mistakes: list[str] = []
    lines = make_corpus.CORPUS.read_text().splitlines()
    for line in lines:
        item = json.loads(line)
        text = item["text"]
        truth = {(e["entity"], e["start"], e["end"]) for e in item["entities"]}
        found = {(f.detector.entity, f.start, f.end) for f in screen.scan(text)}
        for entity, _start, _end in found & truth:
            counts[entity]["tp"] += 1
        for entity, start, end in found - truth:
            counts[entity]["fp"] += 1
            mistakes.append(f"FP {entity}: {text[start:end]!r} in {text!r}")
        for entity, start, end in truth - found:
            counts[entity]["fn"] += 1
            mistakes.append(f"FN {entity}: {text[start:end]!r} in {text!r}")
    return counts, mistakes


def _table(counts: dict[str, Counter[str]]) -> str:
    rows = ["| entity | true | found | precision | recall |", "| --- | --- | --- | --- | --- |"]
    for entity, c in counts.items():
        rows.append(
            f"| {entity} | {c['tp'] + c['fn']} | {c['tp'] + c['fp']} "
            f"| {_precision(c):.4f} | {_recall(c):.4f} |"
        )
    return "\n".join(rows)


def _precision(c: Counter[str]) -> float:
    return c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0


def _recall(c: Counter[str]) -> float:
    return c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0


def test_the_committed_corpus_is_what_the_script_makes() -> None:
    expected = [json.dumps(item, ensure_ascii=False) for item in make_corpus.generate()]
    assert make_corpus.CORPUS.read_text().splitlines() == expected
    assert len(expected) >= 2000
    negatives = [item for item in make_corpus.generate() if item["kind"] == "negative"]
    assert len(negatives) >= 500 and all(not item["entities"] for item in negatives)


def test_every_entity_meets_the_precision_and_recall_bars() -> None:
    counts, mistakes = _measure()
    print("\n" + _table(counts))
    for line in mistakes[:40]:
        print(line)
    for entity, c in counts.items():
        assert c["tp"] + c["fn"] >= 100, f"{entity}: too few true values in the corpus"
        assert _precision(c) >= PRECISION_BAR, f"{entity} precision {_precision(c):.4f}"
        assert _recall(c) >= RECALL_BAR, f"{entity} recall {_recall(c):.4f}"
