"""What a message may carry: OpenAI's content parts and Anthropic's content blocks.

A malformed part is refused here with a 400 naming where it is, before any upstream sees
it. Sent on, a provider (or LiteLLM translating for one) may answer it with a 500 that the
same request gets on every attempt, and that counts against a deployment every tenant
shares. Types are checked for the fields they need; OpenAI's part types are a closed set,
Anthropic's grow often, so an Anthropic block of a type not listed here is passed on.
"""

from __future__ import annotations

from typing import Any

from llm_proxy.pipeline.errors import bad_request

# OpenAI chat content parts: type -> (field, the type that field must be).
_OPENAI_PARTS: dict[str, tuple[str, type]] = {
    "text": ("text", str),
    "image_url": ("image_url", dict),
    "input_audio": ("input_audio", dict),
    "file": ("file", dict),
    "refusal": ("refusal", str),
}
# Anthropic content blocks whose shape the gateway knows.
_ANTHROPIC_BLOCKS: dict[str, tuple[str, type]] = {
    "text": ("text", str),
    "image": ("source", dict),
    "document": ("source", dict),
    "tool_use": ("input", dict),
    "thinking": ("thinking", str),
}


def check_openai_messages(messages: list[Any]) -> None:
    """Each message's content (None, a string or a list of parts) and its tool calls."""
    for index, message in enumerate(messages):
        where = f"messages[{index}]"
        content = message.get("content")
        if isinstance(content, list):
            for number, part in enumerate(content):
                _openai_part(part, f"{where}.content[{number}]")
        elif content is not None and not isinstance(content, str):
            raise bad_request(
                f"Invalid '{where}.content': expected a string or an array of content parts.",
                param=f"{where}.content",
            )
        _tool_calls(message.get("tool_calls"), f"{where}.tool_calls")


def check_anthropic_messages(body: dict[str, Any]) -> None:
    """The system prompt (a string or text blocks), each message's content blocks, and the
    shapes of `tools` and `stop_sequences`."""
    system = body.get("system")
    if isinstance(system, list):
        for number, block in enumerate(system):
            _anthropic_block(block, f"system[{number}]")
    elif system is not None and not isinstance(system, str):
        raise bad_request("Invalid 'system': expected a string or an array of blocks.", "system")
    for index, message in enumerate(body.get("messages") or []):
        _anthropic_content(message.get("content"), f"messages[{index}].content")
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list)
        and all(isinstance(tool, dict) and isinstance(tool.get("name"), str) for tool in tools)
    ):
        raise bad_request("Invalid 'tools': expected an array of tools, each with a name.", "tools")
    stops = body.get("stop_sequences")
    if stops is not None and not (
        isinstance(stops, list) and all(isinstance(stop, str) for stop in stops)
    ):
        message = "Invalid 'stop_sequences': expected an array of strings."
        raise bad_request(message, "stop_sequences")


def _openai_part(part: Any, where: str) -> None:
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise bad_request(f"Invalid '{where}': expected an object with a 'type'.", param=where)
    kind = part["type"]
    if kind not in _OPENAI_PARTS:
        known = ", ".join(sorted(_OPENAI_PARTS))
        raise bad_request(
            f"Invalid '{where}.type': {kind[:40]!r} is not a content part type ({known}).",
            param=f"{where}.type",
        )
    _field(part, *_OPENAI_PARTS[kind], where)
    if kind == "image_url":
        _field(part["image_url"], "url", str, f"{where}.image_url")
    elif kind == "input_audio":
        _field(part["input_audio"], "data", str, f"{where}.input_audio")


def _tool_calls(calls: Any, where: str) -> None:
    if calls is None:
        return
    if not isinstance(calls, list):
        raise bad_request(f"Invalid '{where}': expected an array.", param=where)
    for number, call in enumerate(calls):
        spot = f"{where}[{number}]"
        if not isinstance(call, dict):
            raise bad_request(f"Invalid '{spot}': expected an object.", param=spot)
        _field(call, "function", dict, spot)
        _field(call["function"], "name", str, f"{spot}.function")
        arguments = call["function"].get("arguments")
        if arguments is not None and not isinstance(arguments, str):
            raise bad_request(
                f"Invalid '{spot}.function.arguments': expected a string of JSON.",
                param=f"{spot}.function.arguments",
            )


def _anthropic_content(content: Any, where: str) -> None:
    if isinstance(content, list):
        for number, block in enumerate(content):
            _anthropic_block(block, f"{where}[{number}]")
    elif not isinstance(content, str):
        raise bad_request(
            f"Invalid '{where}': expected a string or an array of content blocks.", param=where
        )


def _anthropic_block(block: Any, where: str) -> None:
    if not isinstance(block, dict) or not isinstance(block.get("type"), str):
        raise bad_request(f"Invalid '{where}': expected an object with a 'type'.", param=where)
    kind = block["type"]
    if kind in _ANTHROPIC_BLOCKS:
        _field(block, *_ANTHROPIC_BLOCKS[kind], where)
    elif kind == "tool_result" and "content" in block:
        _anthropic_content(block["content"], f"{where}.content")


def _field(value: dict[str, Any], name: str, kind: type, where: str) -> None:
    if not isinstance(value.get(name), kind):
        expected = "a string" if kind is str else "an object"
        raise bad_request(
            f"Invalid '{where}.{name}': expected {expected}.", param=f"{where}.{name}"
        )
