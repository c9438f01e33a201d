"""A judge model, played deterministically: it compares two answers by the quality marks the
simulator itself wrote into them.

A profile with `quality: N` (0-9) ends each of its text answers with the mark `[qN]` (its
last token). A profile with `answers: judge` reads the marks its prompt quotes, in order
(the first answer's, then the second's), and gives its verdict in the pairwise judges'
format: `[[A]]` (the first is better), `[[B]]` (the second), `[[C]]` (a tie, or fewer than
two marks to compare). With `position_bias: first` (or `second`) it names that position
whatever the marks say: a judge that is all position bias, which judging both orders must
cancel. So a test can state a verdict before it asks for one.
"""

from __future__ import annotations

import re
from typing import Literal

from llm_proxy.simulator.answer import Answer, text_answer

_MARK = re.compile(r"\[q([0-9])\]")
Bias = Literal["none", "first", "second"]


def marked(answer: Answer, quality: int) -> Answer:
    """`answer` with its last token replaced by the mark of `quality` (text answers only)."""
    if answer.tool_call is not None or not answer.pieces:
        return answer
    head = answer.pieces[:-1]
    mark = f" [q{quality}]" if head else f"[q{quality}]"
    return Answer([*head, mark], None, answer.completion_tokens, answer.truncated)


def judged(prompt: str, bias: Bias) -> Answer:
    """The verdict on the two marked answers `prompt` quotes, with the marks that made it."""
    marks = [int(found) for found in _MARK.findall(prompt)[:2]]
    if bias != "none":
        verdict = "A" if bias == "first" else "B"
        return text_answer(f"The {bias} answer is better. [[{verdict}]]")
    if len(marks) < 2:
        return text_answer("There are not two marked answers to compare. [[C]]")
    first, second = marks
    verdict = "A" if first > second else "B" if second > first else "C"
    return text_answer(f"Marks: A {first}, B {second}. [[{verdict}]]")
