"""The check on top of similarity that keeps near-duplicates from being served each other's answers.

Embeddings place "Tom has 3 apples" and "Tom has 5 apples" side by side; so they do a question
and its negation, two cities, two function names, kilometres and miles. The guard compares what
the two prompts *say*: the same sentences, each the same words in the same order, after
forgetting what does not change meaning (case, whitespace, punctuation, filler words) and the
order of the sentences. Every number, negation, name, identifier, unit and answer option is a
word of some sentence, so changing any of them refuses the candidate.
"""

from __future__ import annotations

import re

# Words people add or drop without changing the question.
_FILLERS = re.compile(
    r"\b(?:please|pls|kindly|thanks(?: a lot)?|thank you|thx|hey|hi|hello|quick question"
    r"|i was wondering if you could help(?: me)?|(?:can|could|would) you (?:please )?help(?: me)?"
    r"|i was wondering(?: if)?"
    r"|basically|um+|uh+)\b"
)
# A sentence ends at . ! ? after a word of two or more characters ("A." labels an option and
# "3.5" is a number), and at ; within a line; lines are split first.
_SENTENCE_END = re.compile(r"(?<=\w\w[.!?])\s+|[!?;]+\s+")
_LINES = re.compile(r"\n+")
# A labelled line ("A. ...", "2) ...") is one item, whatever its punctuation: the label must
# stay bound to all of its text, or swapping two answer options would go unseen.
_LABELLED = re.compile(r"^\s*[a-z0-9][.)]\s")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.!?;])")
# Commas and colons never end a sentence; dropped first, a filler's comma cannot glue two.
_SOFT_PUNCTUATION = re.compile(r"[,:]")
# "150,000" and "150000" are one number.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
# Words, numbers ("3.5"), identifiers ("foo_bar", "obj.method", "don't"), and every symbol
# that is not punctuation: units and currencies ("%", "$"), operators, logic ("≡", "∀").
_TOKEN = re.compile(r"[^\W_]+(?:[.'_][^\W_]+)*|_+[^\W_]+[\w.]*|[^\w\s.,!?;:'\"`()\[\]{}]")

# Typographic apostrophes ("Janet\u2019s") read as the plain one, the minus sign as a hyphen.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2212": "-"})

Fingerprint = tuple[str, ...]


def sentences(text: str) -> list[list[str]]:
    """The prompt as lowercase words, sentence by sentence, fillers dropped."""
    text = text.translate(_QUOTES).lower()
    text = _SOFT_PUNCTUATION.sub(" ", _FILLERS.sub(" ", _THOUSANDS.sub("", text)))
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    parts = (
        part
        for line in _LINES.split(text)
        for part in ([line] if _LABELLED.match(line) else _SENTENCE_END.split(line))
    )
    return [words for words in map(_TOKEN.findall, parts) if words]


def canonical(text: str) -> str:
    """What gets embedded: the words alone, so surface differences cost no similarity."""
    return read(text)[0]


def fingerprint(text: str) -> Fingerprint:
    """The prompt's sentences, each as its words, in sorted order."""
    return read(text)[1]


def read(text: str) -> tuple[str, Fingerprint]:
    """`canonical` and `fingerprint` of a prompt, reading it once."""
    parts = [" ".join(words) for words in sentences(text)]
    return " ".join(parts), tuple(sorted(parts))


def agree(cached: Fingerprint, asked: Fingerprint) -> bool:
    return cached == asked
