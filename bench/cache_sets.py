"""The semantic cache's test sets, built from GSM8K and MMLU questions (../shared/data/routing).

For each question: *variants* say the same thing differently (case, whitespace, punctuation,
filler words, sentence order) and must hit the question's cached answer; *traps* are near
duplicates that ask something else (another number, a negation, another name, another unit,
answer options swapped) and must not. Deterministic: the same seed builds the same sets.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "routing"

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.]*\d)")
_SENTENCE = re.compile(r"(?<=[a-z0-9%)][.?!])\s+(?=[A-Z])")
_OPTION = re.compile(r"^([A-D])\. (.+)$", re.MULTILINE)
_NEGATABLE = re.compile(r"\b(is|are|was|were|does|do|did|can|will|has|have)\b")
_NAME = re.compile(r"(?<=[a-z,] )[A-Z][a-z]{2,}\b")
_UNITS = {
    "km": "miles",
    "miles": "km",
    "kilometers": "miles",
    "meters": "feet",
    "feet": "meters",
    "inches": "centimeters",
    "pounds": "kilograms",
    "kg": "pounds",
    "hours": "minutes",
    "minutes": "seconds",
    "days": "weeks",
    "weeks": "months",
    "dollars": "euros",
    "cents": "dollars",
    "liters": "gallons",
    "gallons": "liters",
}
_UNIT = re.compile(r"\b(" + "|".join(_UNITS) + r")\b")
_FILLERS = (
    ("Hey, quick question: ", ""),
    ("Please, ", ""),
    ("", " Thanks!"),
    ("Hi! ", " Thank you."),
    ("I was wondering if you could help. ", ""),
)


@dataclass(frozen=True)
class Case:
    base: str  # the question whose answer is cached
    text: str  # what is asked
    kind: str  # which variant or trap


def questions(limit_gsm8k: int, limit_mmlu: int, seed: int = 7) -> list[str]:
    """GSM8K word problems and MMLU multiple-choice prompts, shuffled with `seed`."""
    rng = random.Random(seed)
    lines = (DATA / "gsm8k" / "test.jsonl").read_text().splitlines()
    gsm8k = [json.loads(line)["question"] for line in lines if line.strip()]
    mmlu: list[str] = []
    for path in sorted((DATA / "mmlu" / "responses").glob("*.csv")):
        with path.open(newline="") as handle:
            mmlu += [row["prompt"] for row in csv.DictReader(handle)]
    rng.shuffle(gsm8k)
    rng.shuffle(mmlu)
    return gsm8k[:limit_gsm8k] + mmlu[:limit_mmlu]


def variants(question: str, rng: random.Random) -> Iterator[Case]:
    yield Case(question, question.lower() if rng.random() < 0.5 else question.upper(), "case")
    spaced = re.sub(r" ", lambda _: " " * rng.randint(1, 3), question)
    yield Case(question, f"  {spaced}\n", "whitespace")
    yield Case(question, _repunctuate(question), "punctuation")
    before, after = rng.choice(_FILLERS)
    yield Case(question, f"{before}{question}{after}", "filler")
    sentences = _SENTENCE.split(question)
    if len(sentences) > 2 and not _OPTION.search(question):
        # The question (last sentence) first: how people often reorder a word problem.
        yield Case(question, " ".join([sentences[-1], *sentences[:-1]]), "reordered")


def traps(question: str, rng: random.Random) -> Iterator[Case]:
    for kind, make in _TRAPS.items():
        text = make(question, rng)
        if text is not None and text != question:
            yield Case(question, text, kind)


def _repunctuate(question: str) -> str:
    text = question.replace(",", "")
    if text.endswith("?"):
        return text[:-1] + " ??"
    return text + "!"


def _change_number(question: str, rng: random.Random) -> str | None:
    numbers = list(_NUMBER.finditer(question))
    if not numbers:
        return None
    found = rng.choice(numbers)
    value = found.group()
    other = str(int(float(value)) + rng.randint(1, 9)) if "." not in value else f"{value}5"
    return question[: found.start()] + other + question[found.end() :]


def _negate(question: str, rng: random.Random) -> str | None:
    verbs = list(_NEGATABLE.finditer(question))
    if not verbs:
        return None
    found = rng.choice(verbs)
    return question[: found.end()] + " not" + question[found.end() :]


def _swap_options(question: str, rng: random.Random) -> str | None:
    options = _OPTION.findall(question)
    if len(options) < 2 or len({text for _, text in options}) < 2:
        return None
    first, second = rng.sample(range(len(options)), 2)
    while options[first][1] == options[second][1]:
        first, second = rng.sample(range(len(options)), 2)
    texts = [text for _, text in options]
    texts[first], texts[second] = texts[second], texts[first]
    swapped = iter(texts)
    return _OPTION.sub(lambda m: f"{m.group(1)}. {next(swapped)}", question)


def _change_name(question: str, rng: random.Random) -> str | None:
    names = sorted(set(_NAME.findall(question)))
    if not names:
        return None
    name = rng.choice(names)
    other = rng.choice(["Priya", "Tomasz", "Amara", "Kenji", "Lucia", "Oskar", "Nadia"])
    return re.sub(rf"\b{name}\b", other, question)


def _change_unit(question: str, rng: random.Random) -> str | None:
    units = list(_UNIT.finditer(question))
    if not units:
        return None
    found = rng.choice(units)
    return question[: found.start()] + _UNITS[found.group()] + question[found.end() :]


_TRAPS: dict[str, Callable[[str, random.Random], str | None]] = {
    "number": _change_number,
    "negation": _negate,
    "options": _swap_options,
    "entity": _change_name,
    "unit": _change_unit,
}
