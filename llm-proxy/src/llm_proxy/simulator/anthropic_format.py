"""Anthropic's wire format: the Messages API, whole and streamed, and its errors."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from llm_proxy.simulator.answer import Answer, Question, Tool
from llm_proxy.simulator.errors import SimError
from llm_proxy.simulator.streaming import EventStream
from llm_proxy.simulator.tokens import count_tokens

_BROKEN = b'event: content_block_delta\ndata: {"type": "content_block_delta", "index": 0, {\n\n'
_CACHE_USAGE = {"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


@dataclass(frozen=True, slots=True)
class MessagesRequest:
    model: str
    question: Question
    stream: bool


def parse_messages(body: Any) -> MessagesRequest:
    """The parts of a Messages request the simulator answers to; SimError(400) if bad."""
    if not isinstance(body, dict):
        raise SimError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "model: Field required")
    max_tokens = body.get("max_tokens")
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise SimError(400, "max_tokens: Field required (a positive integer)")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        raise SimError(400, "messages: Field required (a non-empty array of messages)")
    tools = body.get("tools")
    tools = tools if isinstance(tools, list) else []
    question = Question(
        prompt=_last_user_text(messages),
        prompt_tokens=_input_tokens(body.get("system"), messages, tools),
        max_tokens=max_tokens,
        tool=_chosen_tool(tools, body.get("tool_choice"), messages),
        response_format=None,
    )
    return MessagesRequest(model, question, bool(body.get("stream")))


def token_count(body: Any) -> bytes:
    """`/v1/messages/count_tokens`: the input tokens `create` would be charged for."""
    if not isinstance(body, dict):
        raise SimError(400, "The request body must be a JSON object.")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise SimError(400, "model: Field required")
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise SimError(400, "messages: Field required (an array of messages)")
    tools = body.get("tools")
    count = _input_tokens(body.get("system"), messages, tools if isinstance(tools, list) else [])
    return orjson.dumps({"input_tokens": count})


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return [block for block in content if isinstance(block, dict)]
    return []


def _text(content: Any) -> str:
    parts = []
    for block in _blocks(content):
        if block.get("type") == "text":
            parts.append(str(block.get("text", "")))
        elif block.get("type") == "tool_result":
            parts.append(_text(block.get("content")))
        elif block.get("type") == "tool_use":
            parts.append(orjson.dumps(block.get("input", {})).decode())
    return " ".join(parts)


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            text = " ".join(
                str(b.get("text", ""))
                for b in _blocks(message.get("content"))
                if b.get("type") == "text"
            )
            if text:
                return text
    return ""


def _input_tokens(system: Any, messages: list[dict[str, Any]], tools: list[Any]) -> int:
    total = count_tokens(_text(system)) if system else 0
    for message in messages:
        total += 3 + count_tokens(_text(message.get("content")))
    if tools:
        total += count_tokens(orjson.dumps(tools).decode())
    return total


def _chosen_tool(tools: list[Any], choice: Any, messages: list[dict[str, Any]]) -> Tool | None:
    last = _blocks(messages[-1].get("content"))
    # After a tool result a model answers in words; calling the tool again would loop an agent.
    answered = any(block.get("type") == "tool_result" for block in last)
    kind = choice.get("type") if isinstance(choice, dict) else None
    if not tools or kind == "none" or answered:
        return None
    candidates = [t for t in tools if isinstance(t, dict) and "name" in t]
    if kind == "tool":
        candidates = [t for t in candidates if t["name"] == choice.get("name")] or candidates
    if not candidates:
        return None
    schema = candidates[0].get("input_schema")
    return Tool(str(candidates[0]["name"]), schema if isinstance(schema, dict) else {})


def _stop_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_use"
    return "max_tokens" if answer.truncated else "end_turn"


def _new_id() -> str:
    return "msg_sim" + uuid.uuid4().hex


def _block(answer: Answer, *, complete: bool) -> dict[str, Any]:
    call = answer.tool_call
    if call is None:
        return {"type": "text", "text": answer.text if complete else ""}
    arguments = orjson.loads(call.arguments) if complete else {}
    return {
        "type": "tool_use",
        "id": "toolu_" + call.id_suffix,
        "name": call.name,
        "input": arguments,
    }


def message(request: MessagesRequest, answer: Answer) -> bytes:
    """A whole `message` object."""
    usage = {
        "input_tokens": request.question.prompt_tokens,
        "output_tokens": answer.completion_tokens,
        **_CACHE_USAGE,
    }
    return orjson.dumps(
        {
            "id": _new_id(),
            "type": "message",
            "role": "assistant",
            "model": request.model,
            "content": [_block(answer, complete=True)],
            "stop_reason": _stop_reason(answer),
            "stop_sequence": None,
            "usage": usage,
        }
    )


def message_stream(request: MessagesRequest, answer: Answer) -> EventStream:
    """The events Anthropic sends for `answer`, in Anthropic's order."""
    start: dict[str, Any] = {
        "id": _new_id(),
        "type": "message",
        "role": "assistant",
        "model": request.model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": request.question.prompt_tokens,
            "output_tokens": 1,
            **_CACHE_USAGE,
        },
    }
    head = [
        _event("message_start", {"type": "message_start", "message": start}),
        _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": _block(answer, complete=False),
            },
        ),
        _event("ping", {"type": "ping"}),
    ]
    delta_kind, field = (
        ("text_delta", "text") if answer.tool_call is None else ("input_json_delta", "partial_json")
    )
    tokens = [
        _event(
            "content_block_delta",
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": delta_kind, field: piece},
            },
        )
        for piece in answer.pieces
    ]
    finish = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    tail = [
        _event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": finish,
                "usage": {"output_tokens": answer.completion_tokens},
            },
        ),
        _event("message_stop", {"type": "message_stop"}),
    ]
    return EventStream(head, tokens, tail, _BROKEN)


def _event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error(error_: SimError) -> bytes:
    """Anthropic's error JSON for `error_`."""
    kind = _ERROR_TYPES.get(error_.status)
    if kind is None:
        kind = "api_error" if error_.status >= 500 else "invalid_request_error"
    if error_.status == 503:
        kind = "overloaded_error"
    return orjson.dumps({"type": "error", "error": {"type": kind, "message": error_.message}})


def rate_limit_headers(retry_after_s: float) -> list[tuple[bytes, bytes]]:
    """The headers Anthropic sends with a 429; resets are RFC 3339 instants."""
    when = datetime.now(UTC) + timedelta(seconds=retry_after_s)
    reset = when.isoformat(timespec="seconds").replace("+00:00", "Z").encode()
    return [
        (b"anthropic-ratelimit-requests-limit", b"60"),
        (b"anthropic-ratelimit-requests-remaining", b"0"),
        (b"anthropic-ratelimit-requests-reset", reset),
        (b"anthropic-ratelimit-tokens-limit", b"150000"),
        (b"anthropic-ratelimit-tokens-remaining", b"0"),
        (b"anthropic-ratelimit-tokens-reset", reset),
    ]
