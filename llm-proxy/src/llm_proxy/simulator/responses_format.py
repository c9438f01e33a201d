"""OpenAI's Responses API (`/v1/responses`): the response object and its event stream.

What Codex CLI and the Agents SDK speak. `input` is a string or a list of items (messages,
function calls and their outputs); a function tool is called unless its output is already
the last item, as in chat. The simulator stores nothing: a `previous_response_id` is refused
as OpenAI refuses an unknown one, so whoever sends one must have resolved it first.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.simulator.answer import Answer, Question, Tool
from llm_proxy.simulator.errors import SimError
from llm_proxy.simulator.streaming import EventStream
from llm_proxy.simulator.tokens import count_tokens

_BROKEN = b'event: response.output_text.delta\ndata: {"type": "response.output_text.delta", {\n\n'
_ECHOED = ("instructions", "max_output_tokens", "metadata", "tool_choice", "tools", "text")


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    model: str
    question: Question
    stream: bool
    body: dict[str, Any]  # for the request fields the response object repeats


def parse_responses(body: Any) -> ResponsesRequest:
    """The parts of a Responses request the simulator answers to; SimError(400) if bad."""
    if not isinstance(body, dict):
        raise SimError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "Missing required parameter: 'model'.", "model")
    previous = body.get("previous_response_id")
    if previous is not None:
        raise SimError(
            400, f"Previous response with id '{previous}' not found.", "previous_response_id"
        )
    items = _items(body.get("input"))
    tools = body.get("tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools):
        raise SimError(400, "'tools' must be an array of tool objects.", "tools")
    for tool in tools:
        if tool.get("type") != "function":
            raise SimError(400, f"Tool type '{tool.get('type')}' is not served here.", "tools")
    limit = body.get("max_output_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise SimError(400, "'max_output_tokens' must be a positive integer.", "max_output_tokens")
    instructions = body.get("instructions")
    question = Question(
        prompt=_last_user_text(items),
        prompt_tokens=_input_tokens(instructions, items, tools),
        max_tokens=limit,
        tool=_chosen_tool(tools, body.get("tool_choice"), items),
        response_format=_response_format(body.get("text")),
    )
    return ResponsesRequest(model, question, bool(body.get("stream")), body)


def _items(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
        return value
    raise SimError(400, "'input' must be a string or a non-empty array of input items.", "input")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _item_text(item: dict[str, Any]) -> str:
    kind = item.get("type", "message")
    if kind == "message":
        return _text(item.get("content"))
    if kind == "function_call":
        return str(item.get("name", "")) + str(item.get("arguments", ""))
    if kind == "function_call_output":
        return _text(item.get("output"))
    return ""


def _last_user_text(items: list[dict[str, Any]]) -> str:
    for item in reversed(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return _text(item.get("content"))
    return ""


def _input_tokens(instructions: Any, items: list[dict[str, Any]], tools: list[Any]) -> int:
    total = count_tokens(instructions) if isinstance(instructions, str) else 0
    for item in items:
        total += 4 + count_tokens(_item_text(item))
    if tools:
        total += count_tokens(orjson.dumps(tools).decode())
    return total


def _chosen_tool(tools: list[Any], choice: Any, items: list[dict[str, Any]]) -> Tool | None:
    # After a function's output a model answers in words; calling again would loop an agent.
    if not tools or choice == "none" or items[-1].get("type") == "function_call_output":
        return None
    functions = [t for t in tools if isinstance(t.get("name"), str)]
    if isinstance(choice, dict) and choice.get("type") == "function":
        functions = [f for f in functions if f["name"] == choice.get("name")] or functions
    if not functions:
        return None
    parameters = functions[0].get("parameters")
    return Tool(functions[0]["name"], parameters if isinstance(parameters, dict) else {})


def _response_format(text: Any) -> dict[str, Any] | None:
    """`text.format` in the shape the answer understands (chat's `response_format`)."""
    format_ = text.get("format") if isinstance(text, dict) else None
    if not isinstance(format_, dict):
        return None
    if format_.get("type") == "json_schema":
        return {"type": "json_schema", "json_schema": {"schema": format_.get("schema") or {}}}
    if format_.get("type") == "json_object":
        return {"type": "json_object"}
    return None


def _usage(question: Question, answer: Answer) -> dict[str, Any]:
    return {
        "input_tokens": question.prompt_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": answer.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": question.prompt_tokens + answer.completion_tokens,
    }


def _output_item(answer: Answer, item_id: str, *, complete: bool) -> dict[str, Any]:
    status = "completed" if complete else "in_progress"
    call = answer.tool_call
    if call is not None:
        return {
            "type": "function_call",
            "id": item_id,
            "call_id": "call_" + call.id_suffix,
            "name": call.name,
            "arguments": call.arguments if complete else "",
            "status": status,
        }
    content = [_text_part(answer.text)] if complete else []
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": content,
    }


def _text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _response(
    request: ResponsesRequest, response_id: str, created: int, output: list[dict[str, Any]]
) -> dict[str, Any]:
    """The response object around `output`, in progress while `output` is empty."""
    body = request.body
    echoed = {name: body.get(name) for name in _ECHOED}
    return {
        "id": response_id,
        "object": "response",
        "created_at": created,
        "status": "in_progress",
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": echoed["instructions"],
        "max_output_tokens": echoed["max_output_tokens"],
        "model": request.model,
        "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": echoed["text"] or {"format": {"type": "text"}},
        "tool_choice": echoed["tool_choice"] or "auto",
        # Echoed as OpenAI does: every field present, strict mode on unless turned off.
        "tools": [{"description": None, "strict": True, **tool} for tool in echoed["tools"] or ()],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "metadata": echoed["metadata"] or {},
    }


def _finished(
    request: ResponsesRequest, response: dict[str, Any], answer: Answer
) -> dict[str, Any]:
    done = {**response, "completed_at": int(time.time()), "usage": _usage(request.question, answer)}
    if answer.truncated:
        done.update(status="incomplete", incomplete_details={"reason": "max_output_tokens"})
    else:
        done["status"] = "completed"
    return done


def _ids(answer: Answer) -> tuple[str, str]:
    prefix = "fc_" if answer.tool_call is not None else "msg_"
    return "resp_" + uuid.uuid4().hex, prefix + uuid.uuid4().hex


def response(request: ResponsesRequest, answer: Answer) -> bytes:
    """A whole `response` object."""
    response_id, item_id = _ids(answer)
    item = _output_item(answer, item_id, complete=True)
    started = _response(request, response_id, int(time.time()), [item])
    return orjson.dumps(_finished(request, started, answer))


def response_stream(request: ResponsesRequest, answer: Answer) -> EventStream:
    """The events OpenAI streams for `answer`, numbered, from `response.created` to the end."""
    response_id, item_id = _ids(answer)
    started = _response(request, response_id, int(time.time()), [])
    numbered = _Numbered()
    where = {"item_id": item_id, "output_index": 0}
    head = [
        numbered("response.created", response=started),
        numbered("response.in_progress", response=started),
        numbered(
            "response.output_item.added",
            output_index=0,
            item=_output_item(answer, item_id, complete=False),
        ),
    ]
    call = answer.tool_call
    if call is None:
        text = {**where, "content_index": 0}
        head.append(numbered("response.content_part.added", **text, part=_text_part("")))
        tokens = [
            numbered("response.output_text.delta", **text, delta=piece, logprobs=[])
            for piece in answer.pieces
        ]
        tail = [
            numbered("response.output_text.done", **text, text=answer.text, logprobs=[]),
            numbered("response.content_part.done", **text, part=_text_part(answer.text)),
        ]
    else:
        tokens = [
            numbered("response.function_call_arguments.delta", **where, delta=piece)
            for piece in answer.pieces
        ]
        tail = [
            numbered(
                "response.function_call_arguments.done",
                **where,
                name=call.name,
                arguments=call.arguments,
            )
        ]
    item = _output_item(answer, item_id, complete=True)
    tail.append(numbered("response.output_item.done", output_index=0, item=item))
    finished = _finished(request, {**started, "output": [item]}, answer)
    final = "response.incomplete" if finished["status"] == "incomplete" else "response.completed"
    tail.append(numbered(final, response=finished))
    return EventStream(head, tokens, tail, _BROKEN)


class _Numbered:
    """Named SSE events with OpenAI's running `sequence_number`."""

    def __init__(self) -> None:
        self.next = 0

    def __call__(self, kind: str, **fields: Any) -> bytes:
        data = {"type": kind, "sequence_number": self.next, **fields}
        self.next += 1
        return b"event: " + kind.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"
