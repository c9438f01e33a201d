"""OpenAI's legacy text completions (`/v1/completions`): fill-in-the-middle, echo, logprobs.

What editor autocomplete calls. With a `suffix` the answer is the middle between the prompt
and the suffix: it quotes the end of the one and the start of the other, so a test can see
both arrived. Streamed chunks have the same shape as the whole object, as OpenAI sends them.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.simulator.answer import Answer, Question, answer
from llm_proxy.simulator.errors import SimError
from llm_proxy.simulator.openai_format import FINGERPRINT, data_event
from llm_proxy.simulator.streaming import EventStream
from llm_proxy.simulator.tokens import count_tokens

_DONE = b"data: [DONE]\n\n"
_BROKEN = b'data: {"id": "cmpl-broken", "object": "text_completion", "choices": [{\n\n'
_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for this endpoint
_QUOTED = 4  # words of the prompt's end and of the suffix's start a fill-in quotes


@dataclass(frozen=True, slots=True)
class CompletionRequest:
    model: str
    prompts: list[str]
    suffix: str | None
    max_tokens: int
    n: int
    echo: bool
    logprobs: int | None
    stop: list[str]
    stream: bool
    include_usage: bool


@dataclass(frozen=True, slots=True)
class _Choice:
    index: int
    prompt: str
    answer: Answer
    text: str  # the completion, cut at a stop sequence
    stopped: bool  # cut at a stop sequence


def parse_completion(body: Any) -> CompletionRequest:
    """The parts of a completions request the simulator answers to; SimError(400) if bad."""
    if not isinstance(body, dict):
        raise SimError(400, "The request body must be a JSON object.")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise SimError(400, "you must provide a model parameter", "model")
    prompts = _prompts(body.get("prompt", ""))
    suffix = body.get("suffix")
    if suffix is not None and not isinstance(suffix, str):
        raise SimError(400, "'suffix' must be a string.", "suffix")
    max_tokens = _integer(body, "max_tokens", _DEFAULT_MAX_TOKENS, 0, None)
    n = _integer(body, "n", 1, 1, 128)
    logprobs = body.get("logprobs")
    if logprobs is not None:
        logprobs = _integer(body, "logprobs", 0, 0, 5)
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else stop if isinstance(stop, list) else []
    if not all(isinstance(s, str) for s in stops) or len(stops) > 4:
        raise SimError(400, "'stop' must be a string or up to 4 strings.", "stop")
    options = body.get("stream_options")
    return CompletionRequest(
        model=model,
        prompts=prompts,
        suffix=suffix,
        max_tokens=max_tokens,
        n=n,
        echo=bool(body.get("echo")),
        logprobs=logprobs,
        stop=list(stops),
        stream=bool(body.get("stream")),
        include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
    )


def _prompts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, int) for v in value):
            return [" ".join(map(str, value))]
        if all(isinstance(v, list) and all(isinstance(i, int) for i in v) for v in value):
            return [" ".join(map(str, v)) for v in value]
    raise SimError(400, "'prompt' must be a string, strings, or arrays of token ids.", "prompt")


def _integer(body: dict[str, Any], field: str, default: int, low: int, high: int | None) -> int:
    value = body.get(field)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise SimError(400, f"'{field}' must be an integer of at least {low}.", field)
    if high is not None and value > high:
        raise SimError(400, f"'{field}' must be at most {high}.", field)
    return value


def _question_text(prompt: str, suffix: str | None) -> str:
    if suffix is None:
        return prompt
    head = prompt.split()[-_QUOTED:]
    tail = suffix.split()[:_QUOTED]
    return " ".join([*head, "...", *tail])


def _choices(request: CompletionRequest, output_tokens: int) -> list[_Choice]:
    choices: list[_Choice] = []
    for prompt in request.prompts:
        question = Question(
            prompt=_question_text(prompt, request.suffix),
            prompt_tokens=count_tokens(prompt) + count_tokens(request.suffix or ""),
            max_tokens=max(request.max_tokens, 1),
            tool=None,
            response_format=None,
        )
        result = answer(question, output_tokens)
        for _ in range(request.n):
            text, stopped = _cut(result.text, request.stop)
            choices.append(_Choice(len(choices), prompt, result, text, stopped))
    return choices


def _cut(text: str, stops: list[str]) -> tuple[str, bool]:
    cuts = [text.index(stop) for stop in stops if stop and stop in text]
    return (text[: min(cuts)], True) if cuts else (text, False)


def _finish_reason(choice: _Choice) -> str:
    return "length" if choice.answer.truncated and not choice.stopped else "stop"


def _logprobs(pieces: list[str], offset: int, top: int) -> dict[str, Any]:
    """Made-up but consistent log probabilities: the sampled token is always the likeliest."""
    offsets, at = [], offset
    for piece in pieces:
        offsets.append(at)
        at += len(piece)
    sampled = [round(-0.05 * (1 + i % 7), 4) for i in range(len(pieces))]
    alternatives = [
        {piece: value, **{f"{piece}~{k}": round(value - k, 4) for k in range(1, top)}}
        for piece, value in zip(pieces, sampled, strict=True)
    ]
    return {
        "tokens": pieces,
        "token_logprobs": sampled,
        "top_logprobs": alternatives,
        "text_offset": offsets,
    }


def _pieces_of(choice: _Choice) -> list[str]:
    """The answer's tokens up to the stop sequence."""
    pieces, length = [], 0
    for piece in choice.answer.pieces:
        if length >= len(choice.text):
            break
        piece = piece[: len(choice.text) - length]
        pieces.append(piece)
        length += len(piece)
    return pieces


def _usage(request: CompletionRequest, choices: list[_Choice]) -> dict[str, int]:
    prompt = sum(count_tokens(p) for p in request.prompts) + count_tokens(request.suffix or "")
    completion = sum(len(_pieces_of(c)) for c in choices)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _envelope(request: CompletionRequest) -> dict[str, Any]:
    return {
        "id": "cmpl-" + uuid.uuid4().hex,
        "object": "text_completion",
        "created": int(time.time()),
        "model": request.model,
        "system_fingerprint": FINGERPRINT,
    }


def completion(request: CompletionRequest, output_tokens: int) -> tuple[bytes, int]:
    """A whole `text_completion` object, and the completion tokens it holds."""
    choices = _choices(request, output_tokens)
    out = []
    for choice in choices:
        echoed = choice.prompt if request.echo else ""
        logprobs = None
        if request.logprobs is not None:
            logprobs = _logprobs(_pieces_of(choice), len(echoed), request.logprobs)
        out.append(
            {
                "text": echoed + choice.text,
                "index": choice.index,
                "logprobs": logprobs,
                "finish_reason": _finish_reason(choice),
            }
        )
    usage = _usage(request, choices)
    body = {**_envelope(request), "choices": out, "usage": usage}
    return orjson.dumps(body), usage["completion_tokens"]


def completion_stream(request: CompletionRequest, output_tokens: int) -> tuple[EventStream, int]:
    """The chunks OpenAI streams: one per token per choice, the finish, usage, `[DONE]`."""
    choices = _choices(request, output_tokens)
    envelope = _envelope(request)

    def chunk(choice: _Choice, text: str, logprobs: Any, finish: str | None) -> bytes:
        part = {"text": text, "index": choice.index, "logprobs": logprobs, "finish_reason": finish}
        return data_event({**envelope, "choices": [part]})

    head = [chunk(c, c.prompt, None, None) for c in choices if request.echo]
    tokens = []
    for choice in choices:
        pieces = _pieces_of(choice)
        offset = len(choice.prompt) if request.echo else 0
        for i, piece in enumerate(pieces):
            logprobs = None
            if request.logprobs is not None:
                logprobs = _logprobs(
                    [piece], offset + sum(len(p) for p in pieces[:i]), request.logprobs
                )
            tokens.append(chunk(choice, piece, logprobs, None))
    tail = [chunk(c, "", None, _finish_reason(c)) for c in choices]
    usage = _usage(request, choices)
    if request.include_usage:
        tail.append(data_event({**envelope, "choices": [], "usage": usage}))
    tail.append(_DONE)
    tokens = tokens or [chunk(choices[0], "", None, None)]
    return EventStream(head, tokens, tail, _BROKEN), usage["completion_tokens"]
