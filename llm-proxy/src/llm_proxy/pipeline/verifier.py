"""The cascade's verifier: cheap signals that a chat answer is not good enough to keep.

Read off the answer (an OpenAI chat completion) against its request, in this order:

- truncation: the model stopped at its token limit (`finish_reason: length`);
- tool_call: a tool call names a tool the request did not offer, or its arguments are
  not a JSON object;
- json_schema: the request asked for JSON (`response_format`) and the answer is not it,
  or fails its schema (`guard.json_schema`, the same check the output guard makes);
- refusal: the model declined (OpenAI's `refusal` field, or a refusal's opening words);
- uncertainty: the model says it does not know or is not sure.

The phrases are English and deliberately narrow: a false escalation costs one strong
answer, a missed one costs the caller a weak answer it would have had anyway.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

import orjson

from llm_proxy.guard import json_schema

_REFUSAL = re.compile(
    r"^\W*(?:(?:i'?m|i am)\s+(?:very\s+|really\s+)?sorry[,.!]?\s*(?:but\s+)?)?"
    r"(?:i|we)\s*(?:can'?t|cannot|can not|won'?t|am unable to|'?m unable to|am not able to"
    r"|must decline to)\s+(?:help|assist|comply|provide|do|answer|fulfil|fulfill|share)",
    re.IGNORECASE,
)
_UNCERTAIN = re.compile(
    r"\b(?:i'?m not (?:sure|certain|confident)|i am not (?:sure|certain|confident)"
    r"|i'?m unsure|i am unsure|i don'?t know|i do not know|i'?m not able to verify"
    r"|(?:this|my answer) (?:may|might) (?:be|well be) (?:wrong|incorrect|inaccurate))\b",
    re.IGNORECASE,
)
# Refusals open the answer; doubts may sit anywhere, but a long answer is read at its ends.
_OPENING = 300
_ENDS = 2000


def insufficient(request: dict[str, Any], answer: bytes, signals: Collection[str]) -> str | None:
    """The first signal in `signals` that the answer shows, or None when it looks sufficient."""
    choice = _first_choice(answer)
    if choice is None:
        return None
    message = choice.get("message")
    message = message if isinstance(message, dict) else {}
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    for name in _ORDER:
        if name in signals and _shows(name, request, choice, message, text):
            return name
    return None


_ORDER = ("truncation", "tool_call", "json_schema", "refusal", "uncertainty")


def _shows(
    name: str, request: dict[str, Any], choice: dict[str, Any], message: dict[str, Any], text: str
) -> bool:
    if name == "truncation":
        return bool(choice.get("finish_reason") == "length")
    if name == "tool_call":
        return _bad_tool_call(request, message.get("tool_calls"))
    if name == "json_schema":
        return _bad_json(request, message.get("content"))
    if name == "refusal":
        return bool(message.get("refusal")) or _refuses(text)
    return _doubts(text)


def _first_choice(answer: bytes) -> dict[str, Any] | None:
    try:
        document = orjson.loads(answer)
    except orjson.JSONDecodeError:
        return None
    choices = document.get("choices") if isinstance(document, dict) else None
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None
    return choices[0]


def _bad_tool_call(request: dict[str, Any], calls: Any) -> bool:
    if not isinstance(calls, list) or not calls:
        return False
    offered = {
        tool["function"].get("name")
        for tool in request.get("tools") or []
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    }
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or function.get("name") not in offered:
            return True
        try:
            arguments = orjson.loads(str(function.get("arguments", "")))
        except orjson.JSONDecodeError:
            return True
        if not isinstance(arguments, dict):
            return True
    return False


def _bad_json(request: dict[str, Any], content: Any) -> bool:
    schema = json_schema.asked_schema("chat", request)
    if schema is None:
        return False
    return not isinstance(content, str) or json_schema.violation(content, schema) is not None


def _refuses(text: str) -> bool:
    return _REFUSAL.search(text[:_OPENING]) is not None


def _doubts(text: str) -> bool:
    if len(text) > 2 * _ENDS:
        text = text[:_ENDS] + "\n" + text[-_ENDS:]
    return _UNCERTAIN.search(text) is not None
