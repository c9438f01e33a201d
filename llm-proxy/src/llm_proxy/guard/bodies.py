"""Where the text is in a request or an answer, as slots that can be read and rewritten.

Chat: each message's content (a string, or its text parts). Anthropic Messages: the system
prompt and each message's text blocks, tool results included. Completions: the prompts.
Embeddings: the inputs. Responses: the instructions and each input item's text (a string,
a message's content or text parts, a function call's output). Answers: each choice's message
content (completions: its text), each text block, or each output message's text parts.
Images, audio and tool-call arguments are not text a check reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Slot:
    container: Any  # the dict or list that holds the text
    key: Any

    def get(self) -> str:
        value = self.container[self.key]
        return value if isinstance(value, str) else ""

    def set(self, value: str) -> None:
        self.container[self.key] = value


def request_slots(api: str, body: dict[str, Any]) -> Iterator[Slot]:
    if api == "embeddings":
        yield from _strings(body, "input")
        return
    if api == "completions":
        yield from _strings(body, "prompt")
        return
    if api == "responses":
        yield from _strings(body, "instructions")
        yield from _response_items(body)
        return
    if api == "messages":
        yield from _content(body, "system")
    for message in body.get("messages") or ():
        if isinstance(message, dict):
            yield from _content(message, "content")


def reply_slots(api: str, body: Any) -> Iterator[Slot]:
    if not isinstance(body, dict):
        return
    if api == "messages":
        yield from _content(body, "content")
        return
    if api == "responses":
        for item in body.get("output") or ():
            if isinstance(item, dict) and item.get("type") == "message":
                yield from _content(item, "content")
        return
    for choice in body.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        if api == "completions":
            yield from _strings(choice, "text")
        elif isinstance(message := choice.get("message"), dict):
            yield from _content(message, "content")


def _content(holder: dict[str, Any], key: str) -> Iterator[Slot]:
    value = holder.get(key)
    if isinstance(value, str):
        yield Slot(holder, key)
    elif isinstance(value, list):
        for part in value:
            if not isinstance(part, dict):
                continue
            if isinstance(part.get("text"), str):
                yield Slot(part, "text")
            elif part.get("type") == "tool_result":
                yield from _content(part, "content")


def _strings(holder: dict[str, Any], key: str) -> Iterator[Slot]:
    value = holder.get(key)
    if isinstance(value, str):
        yield Slot(holder, key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield Slot(value, index)


def _response_items(body: dict[str, Any]) -> Iterator[Slot]:
    items = body.get("input")
    if isinstance(items, str):
        yield Slot(body, "input")
        return
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call_output":
            yield from _strings(item, "output")
        elif "content" in item:
            yield from _content(item, "content")
