"""What of a chat conversation the router reads.

Each call is routed on its own conversation, not only its last line: the latest user turn comes
first (it says what is asked now), then the earlier user turns, newest first, so that when the
embedding model's window is full it is the oldest context that falls out. A latest turn longer
than the window keeps its head and its tail, where the question usually is. Assistant and tool
messages are left out of the text: they are answers, and their wording says more about the
model that wrote them than about how hard the request is.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Message = dict[str, Any]

_TURN_SEPARATOR = "\n\n"
_ELISION = " … "


def message_text(message: Message) -> str:
    """The text of an OpenAI chat message, whose content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict)]
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def user_turns(messages: Sequence[Message]) -> list[str]:
    """User turns in order; a conversation with none is read from its system prompt."""
    turns = [message_text(m) for m in messages if m.get("role") == "user"]
    if not turns:
        turns = [message_text(m) for m in messages if m.get("role") in ("system", "developer")]
    return [turn for turn in turns if turn.strip()]


def routing_text(messages: Sequence[Message], max_chars: int) -> str:
    """The text to embed, at most about `max_chars` long (latest turn first)."""
    turns = user_turns(messages)
    if not turns:
        return ""
    latest = _head_and_tail(turns[-1], max_chars)
    pieces = [latest]
    room = max_chars - len(latest)
    for earlier in reversed(turns[:-1]):
        if room <= len(_TURN_SEPARATOR):
            break
        piece = earlier[: room - len(_TURN_SEPARATOR)]
        pieces.append(piece)
        room -= len(piece) + len(_TURN_SEPARATOR)
    return _TURN_SEPARATOR.join(pieces)


def _head_and_tail(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    half = (max_chars - len(_ELISION)) // 2
    return text[:half] + _ELISION + text[-half:]
