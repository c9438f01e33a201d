"""Which tools an answer called, by name, read off any of the three wire formats.

An agent session's steps show them. A whole answer is read once, after the fact; a
stream's calls are noted by its relay as they begin (`streams.py`).
"""

from __future__ import annotations

from typing import Any


def tool_calls_of(answer: Any) -> list[str]:
    """Tool names in a chat completion, an Anthropic message or a Responses API response."""
    if not isinstance(answer, dict):
        return []
    names: list[str] = []
    for choice in answer.get("choices") or ():
        message = choice.get("message") if isinstance(choice, dict) else None
        names += chat_tool_names((message or {}).get("tool_calls"))
    for block in answer.get("content") or ():
        if isinstance(block, dict) and block.get("type") == "tool_use":
            names.append(str(block.get("name", "")))
    for item in answer.get("output") or ():
        if isinstance(item, dict) and item.get("type") == "function_call":
            names.append(str(item.get("name", "")))
    return names


def chat_tool_names(calls: Any) -> list[str]:
    """Names in chat's `tool_calls` (a message's, or a streamed delta's opening fragments)."""
    if not isinstance(calls, list):
        return []
    names = []
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        name = function.get("name") if isinstance(function, dict) else None
        if name:
            names.append(str(name))
    return names
