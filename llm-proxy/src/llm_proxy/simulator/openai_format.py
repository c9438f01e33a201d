"""OpenAI's wire format: chat completions (whole and streamed), embeddings, models, errors."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.simulator.answer import Answer, Question, Tool
from llm_proxy.simulator.embeddings import as_base64, vector
from llm_proxy.simulator.errors import SimError
from llm_proxy.simulator.streaming import EventStream
from llm_proxy.simulator.tokens import count_tokens

FINGERPRINT = "fp_simulator"
_DONE = b"data: [DONE]\n\n"
_BROKEN = b'data: {"id": "chatcmpl-broken", "object": "chat.completion.chunk", "choices": [{\n\n'
_NO_USAGE_DETAILS = {
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {
        "reasoning_tokens": 0,
        "audio_tokens": 0,
        "accepted_prediction_tokens": 0,
        "rejected_prediction_tokens": 0,
    },
}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    question: Question
    stream: bool
    include_usage: bool
    n: int = 1  # choices asked for; each drawn on its own


def parse_chat(body: Any) -> ChatRequest:
    """The parts of a chat completion request the simulator answers to; SimError(400) if bad."""
    if not isinstance(body, dict):
        raise SimError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "you must provide a model parameter", "model")
    messages = body.get("messages")
    if (
        not isinstance(messages, list)
        or not messages
        or not all(isinstance(m, dict) for m in messages)
    ):
        raise SimError(400, "'messages' must be a non-empty array of message objects.", "messages")
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise SimError(400, "max_tokens must be a positive integer.", "max_tokens")
    tools = body.get("tools")
    tools = tools if isinstance(tools, list) else []
    response_format = body.get("response_format")
    question = Question(
        prompt=_last_user_text(messages),
        prompt_tokens=_prompt_tokens(messages, tools),
        max_tokens=limit,
        tool=_chosen_tool(tools, body.get("tool_choice"), messages),
        response_format=response_format if _wants_json(response_format) else None,
    )
    options = body.get("stream_options")
    include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
    n = body.get("n")
    if n is None:
        n = 1
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= 128:
        raise SimError(400, "n must be an integer from 1 to 128.", "n")
    if n > 1 and body.get("stream"):
        raise SimError(400, "The simulator streams one choice; ask for n > 1 without stream.", "n")
    return ChatRequest(model, question, bool(body.get("stream")), include_usage, n)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            part.get("text", "") for part in content if isinstance(part, dict) and "text" in part
        )
    return ""


def _last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return _text(message.get("content"))
    return ""


def _prompt_tokens(messages: list[dict[str, Any]], tools: list[Any]) -> int:
    # OpenAI's published accounting: 3 per message plus its role and content, 3 to prime the reply.
    total = 3
    for message in messages:
        total += 4 + count_tokens(_text(message.get("content")))
        if "name" in message:
            total += 1 + count_tokens(str(message["name"]))
        for call in message.get("tool_calls") or []:
            function = call.get("function", {}) if isinstance(call, dict) else {}
            total += count_tokens(
                str(function.get("name", "")) + str(function.get("arguments", ""))
            )
    if tools:
        total += count_tokens(orjson.dumps(tools).decode())
    return total


def _chosen_tool(tools: list[Any], choice: Any, messages: list[dict[str, Any]]) -> Tool | None:
    # After a tool result a model answers in words; calling the tool again would loop an agent.
    if not tools or choice == "none" or messages[-1].get("role") == "tool":
        return None
    functions = [
        tool["function"]
        for tool in tools
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    ]
    if isinstance(choice, dict) and isinstance(choice.get("function"), dict):
        wanted = choice["function"].get("name")
        functions = [f for f in functions if f.get("name") == wanted] or functions
    if not functions:
        return None
    first = functions[0]
    parameters = first.get("parameters")
    return Tool(str(first.get("name", "tool")), parameters if isinstance(parameters, dict) else {})


def _wants_json(response_format: Any) -> bool:
    return isinstance(response_format, dict) and response_format.get("type") in (
        "json_object",
        "json_schema",
    )


def _finish_reason(answer: Answer) -> str:
    if answer.tool_call is not None:
        return "tool_calls"
    return "length" if answer.truncated else "stop"


def _usage(question: Question, *answers: Answer) -> dict[str, Any]:
    completion_tokens = sum(answer.completion_tokens for answer in answers)
    return {
        "prompt_tokens": question.prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": question.prompt_tokens + completion_tokens,
        **_NO_USAGE_DETAILS,
    }


def _new_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def completion(request: ChatRequest, answers: list[Answer]) -> bytes:
    """A whole `chat.completion` object: one choice per answer."""
    return orjson.dumps(
        {
            "id": _new_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.model,
            "choices": [_choice(index, answer) for index, answer in enumerate(answers)],
            "usage": _usage(request.question, *answers),
            "service_tier": "default",
            "system_fingerprint": FINGERPRINT,
        }
    )


def _choice(index: int, answer: Answer) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None}
    if answer.tool_call is not None:
        call = answer.tool_call
        message["tool_calls"] = [
            {
                "id": "call_" + call.id_suffix,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
        ]
    else:
        message["content"] = answer.text
    message["annotations"] = []
    return {
        "index": index,
        "message": message,
        "logprobs": None,
        "finish_reason": _finish_reason(answer),
    }


def completion_stream(request: ChatRequest, answer: Answer) -> EventStream:
    """The `chat.completion.chunk` events OpenAI sends for `answer`, then `[DONE]`."""
    envelope: dict[str, Any] = {
        "id": _new_id(),
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": request.model,
        "service_tier": "default",
        "system_fingerprint": FINGERPRINT,
    }
    if request.include_usage:
        envelope["usage"] = None

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return data_event({**envelope, "choices": [choice]})

    call = answer.tool_call
    if call is None:
        head = chunk({"role": "assistant", "content": "", "refusal": None})
        tokens = [chunk({"content": piece}) for piece in answer.pieces]
    else:
        opening = {"index": 0, "id": "call_" + call.id_suffix, "type": "function"}
        opening["function"] = {"name": call.name, "arguments": ""}
        head = chunk({"role": "assistant", "content": None, "tool_calls": [opening]})
        tokens = [
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            for piece in answer.pieces
        ]
    tail = [chunk({}, _finish_reason(answer))]
    if request.include_usage:
        usage = _usage(request.question, answer)
        tail.append(data_event({**envelope, "choices": [], "usage": usage}))
    tail.append(_DONE)
    return EventStream([head], tokens, tail, _BROKEN)


def data_event(value: dict[str, Any]) -> bytes:
    """One data-only SSE frame, as OpenAI streams its chunks."""
    return b"data: " + orjson.dumps(value) + b"\n\n"


def embeddings(body: Any, default_dimensions: int) -> tuple[str, bytes]:
    """The model and a `list` of embeddings for a request body; SimError(400) if bad."""
    if not isinstance(body, dict):
        raise SimError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "you must provide a model parameter", "model")
    inputs = _embedding_inputs(body.get("input"))
    dimensions = body.get("dimensions", default_dimensions)
    if not isinstance(dimensions, int) or dimensions < 1:
        raise SimError(400, "dimensions must be a positive integer.", "dimensions")
    as_text = body.get("encoding_format", "float") == "base64"
    data = []
    tokens = 0
    for index, item in enumerate(inputs):
        if isinstance(item, str):
            key, tokens = item.encode(), tokens + count_tokens(item)
        else:
            key, tokens = orjson.dumps(item), tokens + len(item)
        values = vector(key, dimensions)
        embedding: Any = as_base64(values) if as_text else values
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return model, orjson.dumps({"object": "list", "data": data, "model": model, "usage": usage})


def _embedding_inputs(value: Any) -> list[str | list[int]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):
            return [value]
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, list) and all(isinstance(i, int) for i in v) for v in value):
            return list(value)
    raise SimError(400, "'input' must be a string, strings, or arrays of token ids.", "input")


def models(names: list[str], created: int) -> bytes:
    """A `list` of `model` objects."""
    data = [
        {"id": n, "object": "model", "created": created, "owned_by": "simulator"} for n in names
    ]
    return orjson.dumps({"object": "list", "data": data})


def error(error_: SimError) -> bytes:
    """OpenAI's error JSON for `error_`."""
    kind, code = _error_kind(error_.status)
    detail = {"message": error_.message, "type": kind, "param": error_.param, "code": code}
    return orjson.dumps({"error": detail})


def _error_kind(status: int) -> tuple[str, str | None]:
    if status == 429:
        return "requests", "rate_limit_exceeded"
    if status == 401:
        return "invalid_request_error", "invalid_api_key"
    if status == 404:
        return "invalid_request_error", "model_not_found"
    if status == 504:
        return "timeout", None
    if status >= 500:
        return "server_error", None
    return "invalid_request_error", None


def rate_limit_headers(retry_after_s: float) -> list[tuple[bytes, bytes]]:
    """The headers OpenAI sends with a 429: exhausted request and token budgets."""
    reset = f"{retry_after_s:g}s".encode()
    return [
        (b"x-ratelimit-limit-requests", b"60"),
        (b"x-ratelimit-remaining-requests", b"0"),
        (b"x-ratelimit-reset-requests", reset),
        (b"x-ratelimit-limit-tokens", b"150000"),
        (b"x-ratelimit-remaining-tokens", b"0"),
        (b"x-ratelimit-reset-tokens", reset),
    ]
