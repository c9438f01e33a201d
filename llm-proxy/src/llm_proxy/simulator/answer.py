"""The simulated model's answer, independent of wire format: text or one tool call."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.simulator.content import json_reply, reply_text, reply_tokens, value_for_schema
from llm_proxy.simulator.tokens import count_tokens
from llm_proxy.simulator.word_problems import noisy_answer, solve

_ARGUMENT_PIECE = 12  # characters of tool arguments per streamed delta, about as OpenAI splits


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Question:
    """What the formats extract from a request: enough to answer it."""

    prompt: str  # text of the last user message
    prompt_tokens: int
    max_tokens: int | None
    tool: Tool | None  # the tool to call, when the request asks for one
    response_format: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ToolCall:
    id_suffix: str
    name: str
    arguments: str  # JSON text


@dataclass(frozen=True, slots=True)
class Answer:
    pieces: list[str]  # what each streamed delta carries: text tokens or argument fragments
    tool_call: ToolCall | None
    completion_tokens: int
    truncated: bool  # stopped by max_tokens

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def answer(question: Question, output_tokens: int) -> Answer:
    """The deterministic answer to `question` with about `output_tokens` tokens."""
    wanted = output_tokens
    if question.max_tokens is not None and question.max_tokens < wanted:
        wanted = max(question.max_tokens, 1)
    truncated = wanted < output_tokens
    if question.tool is not None:
        return _tool_answer(question, question.tool, wanted)
    if question.response_format is not None:
        text = reply_text(question.prompt, wanted)
        content = orjson.dumps(json_reply(question.response_format, text)).decode()
        pieces = _split(content, _ARGUMENT_PIECE)
        return Answer(pieces, None, count_tokens(content), truncated)
    return Answer(reply_tokens(question.prompt, wanted), None, wanted, truncated)


def recut(answer: Answer, chars: int) -> Answer:
    """A text answer streamed in pieces of `chars` characters, cut anywhere: a piece a token."""
    if answer.tool_call is not None:
        return answer
    pieces = _split(answer.text, chars)
    return Answer(pieces, None, len(pieces), answer.truncated)


def solver_answer(question: Question, accuracy: float, rng: random.Random) -> Answer | None:
    """The number a noisy solver answers to the word problem in the prompt; None: none there."""
    correct = solve(question.prompt)
    if correct is None:
        return None
    text = str(noisy_answer(correct, accuracy, rng))
    return Answer([text], None, count_tokens(text), False)


def _tool_answer(question: Question, tool: Tool, words: int) -> Answer:
    text = reply_text(question.prompt, min(words, 8))
    arguments = orjson.dumps(value_for_schema(tool.parameters, text)).decode()
    digest = hashlib.blake2b(f"{tool.name}\0{question.prompt}".encode(), digest_size=12)
    call = ToolCall(digest.hexdigest(), tool.name, arguments)
    return Answer(_split(arguments, _ARGUMENT_PIECE), call, count_tokens(arguments), False)


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
UNCERTAIN_OPENING = "I'm not sure about this, but"


def spoiled(answer: Answer, kind: str, question: Question) -> Answer:
    """`answer` turned into a plausible but poor one (an answer fault, see `faults`)."""
    if kind == "refusal":
        return text_answer(REFUSAL_TEXT)
    if kind == "uncertain":
        return text_answer(f"{UNCERTAIN_OPENING} {reply_text(question.prompt, 8)}")
    if kind == "length":
        kept = answer.pieces[: max(1, len(answer.pieces) // 2)]
        return Answer(kept, None, max(1, answer.completion_tokens // 2), True)
    if kind == "bad_json":
        return text_answer("Sure! " + reply_text(question.prompt, 8))
    call = answer.tool_call
    if call is None:
        return answer
    if kind == "bad_tool_args":
        broken = ToolCall(call.id_suffix, call.name, call.arguments[: len(call.arguments) // 2])
        return Answer(_split(broken.arguments, _ARGUMENT_PIECE), broken, 1, False)
    unknown = ToolCall(call.id_suffix, "not_offered_" + call.name, call.arguments)
    return Answer(answer.pieces, unknown, answer.completion_tokens, False)


def text_answer(text: str) -> Answer:
    """`text` as an answer, one word a token."""
    pieces = [" " + word for word in text.split()]
    pieces[0] = pieces[0].lstrip()
    return Answer(pieces, None, len(pieces), False)
