"""A chat request as OptiLLM's approaches take it, with nothing of the conversation lost.

The approaches take a system prompt and one query and build their own messages from them.
The query is the last user turn; every message before it (earlier turns, tool calls and
their results) is kept as sent and put back in front of each sub-call's own messages, so
no sub-call sees a flattened chat. What an approach cannot honour is refused, by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Message = dict[str, Any]


class Refused(Exception):
    """The request cannot be optimized as asked; `str()` says why, `param` where."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass(frozen=True, slots=True)
class Conversation:
    system_prompt: str
    history: list[Message]  # between the leading system messages and the last user turn
    query: str
    # The request's tools, offered to every sub-call with tool_choice "none": the model
    # knows them (the history may call them) but answers in text.
    tools: list[Any] | None

    def messages_for(self, sub_call: list[Message]) -> list[Message]:
        """A sub-call's messages with the kept history after its system prompt(s)."""
        lead = 0
        while lead < len(sub_call) and sub_call[lead].get("role") in ("system", "developer"):
            lead += 1
        return [*sub_call[:lead], *self.history, *sub_call[lead:]]


def split(body: dict[str, Any], approach: str) -> Conversation:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Refused("'messages' must be a non-empty array.", "messages")
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        raise Refused("Every message must be an object with a 'role'.", "messages")
    _check_options(body, approach)
    lead = 0
    system: list[str] = []
    while lead < len(messages) and messages[lead]["role"] in ("system", "developer"):
        system.append(_text(messages[lead], lead, approach))
        lead += 1
    last = messages[-1]
    if lead == len(messages) or last["role"] != "user":
        ends = "no user message" if lead == len(messages) else f"a {last['role']} message"
        raise Refused(
            f"Approach {approach} answers the conversation's last user message, and this "
            f"conversation ends with {ends}; send it without optillm_approach.",
            "messages",
        )
    tools = body.get("tools")
    return Conversation(
        system_prompt="\n\n".join(system),
        history=messages[lead:-1],
        query=_text(last, len(messages) - 1, approach),
        tools=tools if isinstance(tools, list) and tools else None,
    )


def _check_options(body: dict[str, Any], approach: str) -> None:
    """Options that would change what an approach's answers are: refused, by name."""
    choice = body.get("tool_choice")
    if choice not in (None, "auto", "none"):
        raise Refused(
            f"Approach {approach} answers in text, so it cannot honour tool_choice={choice!r}.",
            "tool_choice",
        )
    n = body.get("n")
    if n not in (None, 1):
        raise Refused(f"Approach {approach} returns one answer; n must be 1.", "n")
    response_format = body.get("response_format")
    if isinstance(response_format, dict) and response_format.get("type") not in (None, "text"):
        raise Refused(
            f"Approach {approach} answers in free text; response_format "
            f"{response_format.get('type')!r} cannot be honoured.",
            "response_format",
        )


def _text(message: Message, index: int, approach: str) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list) and all(
        isinstance(part, dict) and part.get("type") == "text" for part in content
    ):
        return "".join(str(part.get("text", "")) for part in content)
    raise Refused(
        f"Approach {approach} works on text; messages[{index}] has content that is not text.",
        f"messages[{index}]",
    )
