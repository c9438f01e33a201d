"""Arithmetic word problems: generated from a seed, solved from their text alone.

The `noisy-solver` profile answers a problem it finds in the prompt correctly with a set
probability and otherwise with a wrong number near the right one, like a model that is
right most of the time. The right answer is always computed from the question's words,
never looked up, so any prompt that quotes a problem (an optimizer's critique prompt
included) is answered the same way. Each template is written once: the sentence that
generates it and the pattern that reads it back share their wording.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

_NAMES = ("Ada", "Ben", "Chen", "Dana", "Emil", "Fatima", "Goran", "Hana", "Ivo", "Jun")
_ITEMS = ("apples", "marbles", "stamps", "books", "coins", "shells", "pencils", "cards")
_FIELDS = {"name": r"[A-Z][a-z]+", "item": r"[a-z]+", "a": r"\d+", "b": r"\d+", "c": r"\d+"}
_FIELDS["d"] = r"\d+"
_FIELD = re.compile(r"\\\{(\w+)\\\}")


@dataclass(frozen=True, slots=True)
class WordProblem:
    text: str
    answer: int


@dataclass(frozen=True, slots=True)
class _Template:
    sentence: str  # str.format fields: name, item, a, b, c, d
    solve: Callable[[int, int, int, int], int]
    pattern: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", re.compile(_pattern_of(self.sentence)))


def _pattern_of(sentence: str) -> str:
    """The sentence as a regex: each field a named group, a repeated field the same words."""
    seen: set[str] = set()

    def group(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seen:
            return f"(?P={name})"
        seen.add(name)
        return f"(?P<{name}>{_FIELDS[name]})"

    return _FIELD.sub(group, re.escape(sentence))


_TEMPLATES = (
    _Template(
        "{name} has {a} {item}. {name} buys {b} boxes of {c} {item} each and gives away "
        "{d} {item}. How many {item} does {name} have now?",
        lambda a, b, c, d: a + b * c - d,
    ),
    _Template(
        "A shop has {a} {item}. It sells {b} {item} on Monday and {c} {item} on Tuesday, "
        "then receives {d} more. How many {item} does the shop have?",
        lambda a, b, c, d: a - b - c + d,
    ),
    _Template(
        "{name} packs {a} bags with {b} {item} in each bag, adds {c} loose {item}, then "
        "shares {d} {item} with a friend. How many {item} are left?",
        lambda a, b, c, d: a * b + c - d,
    ),
)


def generate(rng: random.Random) -> WordProblem:
    """A problem whose answer is a positive integer."""
    template = rng.choice(_TEMPLATES)
    while True:
        a, b, c, d = (rng.randint(2, 40) for _ in range(4))
        value = template.solve(a, b, c, d)
        if value > 0:
            break
    text = template.sentence.format(
        name=rng.choice(_NAMES), item=rng.choice(_ITEMS), a=a, b=b, c=c, d=d
    )
    return WordProblem(text, value)


def solve(text: str) -> int | None:
    """The answer to the first problem quoted in `text`; None when it quotes none."""
    for template in _TEMPLATES:
        match = template.pattern.search(text)
        if match is not None:
            a, b, c, d = (int(match.group(name)) for name in "abcd")
            return template.solve(a, b, c, d)
    return None


def noisy_answer(correct: int, accuracy: float, rng: random.Random) -> int:
    """`correct` with probability `accuracy`, else a different number close to it."""
    if rng.random() < accuracy:
        return correct
    offset = rng.choice((-3, -2, -1, 1, 2, 3))
    return correct + offset
