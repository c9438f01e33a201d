"""The judge's side of shadow judging: the pairwise prompt, its verdict, and both orders
combined into a route label's `strong_wins`.

The judge sees the conversation and two answers, labelled A and B, and ends its reply with
`[[A]]`, `[[B]]` or `[[C]]` (a tie), the format pairwise LLM judges are usually asked for.
Judges favour a position, so each pair is judged twice, each answer once in each place; the
strong model wins (1) or loses (0) only when both orders say so, and anything else (the
orders disagree, or either says tie) is 0.5.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import orjson

Verdict = Literal["A", "B", "C"]

# Room for a judge's reasoning before its verdict; the text it reads is bounded apart.
JUDGE_MAX_TOKENS = 1024

_SYSTEM = (
    "You are an impartial judge. Read the conversation and the two answers to its last "
    "message, written by two AI assistants, A and B. Decide which answer is more helpful, "
    "correct and complete. The order of the answers must not sway you, nor their length, "
    "nor the assistants' names. Explain briefly, then end with your verdict exactly as "
    '"[[A]]" if A is better, "[[B]]" if B is better, or "[[C]]" for a tie.'
)
_VERDICT = re.compile(r"\[\[([ABC])\]\]")


def judge_body(
    model: str, conversation: list[dict[str, str]], first: str, second: str
) -> dict[str, Any]:
    """A chat request asking `model` to compare `first` (as A) with `second` (as B)."""
    asked = "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in conversation)
    prompt = (
        f"[The start of the conversation]\n{asked}\n[The end of the conversation]\n\n"
        f"[The start of assistant A's answer]\n{first}\n[The end of assistant A's answer]\n\n"
        f"[The start of assistant B's answer]\n{second}\n[The end of assistant B's answer]"
    )
    return {
        "model": model,
        "messages": [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": prompt}],
        "temperature": 0,
        "max_tokens": JUDGE_MAX_TOKENS,
    }


def verdict_of(reply: bytes) -> Verdict | None:
    """The last verdict the judge's chat completion states; None when it states none."""
    try:
        text = answer_text(orjson.loads(reply))
    except orjson.JSONDecodeError:
        return None
    found = _VERDICT.findall(text)
    if not found:
        return None
    last: Verdict = found[-1]
    return last


def strong_wins(strong_first: Verdict, weak_first: Verdict) -> float:
    """Both orders' verdicts as one label: `strong_first` judged (strong as A, weak as B),
    `weak_first` the other way round."""
    if strong_first == "A" and weak_first == "B":
        return 1.0
    if strong_first == "B" and weak_first == "A":
        return 0.0
    return 0.5


def answer_text(completion: Any, limit: int = 100_000) -> str:
    """What a chat completion's first choice says: its text, then its tool calls (as
    `name(arguments)` lines), at most `limit` characters."""
    choices = completion.get("choices") if isinstance(completion, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return ""
    parts = [message["content"]] if isinstance(message.get("content"), str) else []
    for call in message.get("tool_calls") or ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            parts.append(f"{function.get('name')}({function.get('arguments')})")
    return "\n".join(parts)[:limit]
