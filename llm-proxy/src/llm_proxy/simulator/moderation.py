"""A moderation-style classifier: it flags a text that holds one of its categories' words.

Deterministic: the verdict depends only on the prompt (the last user message) and the
profile's `flag_words` (category → words or phrases, matched case-folded on word
boundaries), answered as the JSON the gateway's classifier check reads:
`{"flagged": true, "categories": ["violence"]}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import orjson

from llm_proxy.simulator.answer import Answer, Question
from llm_proxy.simulator.tokens import count_tokens


def verdict(question: Question, flag_words: Mapping[str, Sequence[str]]) -> Answer:
    text = question.prompt.casefold()
    categories = [
        category
        for category, words in flag_words.items()
        if any(re.search(rf"(?<!\w){re.escape(w.casefold())}(?!\w)", text) for w in words)
    ]
    content = orjson.dumps({"flagged": bool(categories), "categories": categories}).decode()
    return Answer([content], None, count_tokens(content), False)
