"""The simulator's ASGI application: routing, recording, faults, then the wire formats."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.simulator import (
    anthropic_format,
    control,
    moderation,
    openai_format,
    responses_format,
    text_completions,
)
from llm_proxy.simulator._asgi import (
    RawHeaders,
    Receive,
    Request,
    Responder,
    Scope,
    Send,
    read_request,
    wait_for_disconnect,
)
from llm_proxy.simulator.answer import Answer, Question, answer, recut, solver_answer, spoiled
from llm_proxy.simulator.config import SimulatorConfig
from llm_proxy.simulator.errors import SimError, fault_message
from llm_proxy.simulator.faults import ANSWER_FAULTS, Fault, FaultKind, choose_fault
from llm_proxy.simulator.judge import judged, marked
from llm_proxy.simulator.profiles import Timing, timing_for
from llm_proxy.simulator.state import SimulatorState
from llm_proxy.simulator.streaming import EventStream, deliver
from llm_proxy.simulator.tokens import warm_up

_CLIENT_GONE = 499  # nginx's convention, for the stats of requests whose client left


@dataclass(frozen=True, slots=True)
class _Dialect:
    """What differs between the OpenAI and Anthropic paths outside the answer itself."""

    error: Callable[[SimError], bytes]
    request_id_header: bytes
    rate_limit_headers: Callable[[float], RawHeaders]


_OPENAI = _Dialect(openai_format.error, b"x-request-id", openai_format.rate_limit_headers)
_ANTHROPIC = _Dialect(anthropic_format.error, b"request-id", anthropic_format.rate_limit_headers)


@dataclass(slots=True)
class _Call:
    """One request on its way through: what every generation handler needs."""

    request: Request
    body: Any
    model: str | None
    responder: Responder
    receive: Receive
    dialect: _Dialect


class _ClientGoneError(Exception):
    pass


_Generate = Callable[["SimulatorApp", _Call], Awaitable[None]]
_Control = Callable[[SimulatorState, Request, Responder], Awaitable[None]]


class SimulatorApp:
    """An ASGI app that answers like OpenAI and Anthropic, at a configured pace, with faults."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.state = SimulatorState(config)
        self._common: RawHeaders = [(b"x-sim-instance", config.name.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        responder = Responder(send, self._common)
        key = (request.method, request.path)
        generate = _GENERATION_ROUTES.get(key)
        if generate is not None:
            await self._generation(generate, request, responder, receive)
            return
        await self._other(key, request, responder)

    async def _other(self, key: tuple[str, str], request: Request, responder: Responder) -> None:
        handler = _CONTROL_ROUTES.get(key)
        try:
            if handler is not None:
                await handler(self.state, request, responder)
            elif key == ("GET", "/health"):
                await responder.json(200, {"status": "ok", "name": self.state.config.name})
            elif key == ("GET", "/v1/models"):
                names = self.state.model_names()
                await responder.payload(200, openai_format.models(names, self.state.started))
            else:
                known = any(
                    path == request.path for _, path in (*_GENERATION_ROUTES, *_CONTROL_ROUTES)
                )
                status = 405 if known else 404
                raise SimError(status, f"{request.method} {request.path} is not served here")
        except SimError as error:
            await responder.payload(error.status, openai_format.error(error))

    async def _generation(
        self, generate: _Generate, request: Request, responder: Responder, receive: Receive
    ) -> None:
        dialect = _ANTHROPIC if request.path.startswith("/v1/messages") else _OPENAI
        body, model = self._record(request)
        call = _Call(request, body, model, responder, receive, dialect)
        try:
            await generate(self, call)
        except SimError as error:
            await responder.payload(
                error.status, dialect.error(error), headers=_error_headers(call, error)
            )
        except _ClientGoneError:
            responder.status = _CLIENT_GONE
        self.state.recorder.answered(request.path, model, responder.status)

    def _record(self, request: Request) -> tuple[Any, str | None]:
        try:
            body: Any = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            body = request.body.decode("utf-8", "replace")
        model = body.get("model") if isinstance(body, dict) else None
        model = model if isinstance(model, str) else None
        self.state.recorder.received(request.method, request.path, model, request.headers, body)
        return body, model

    async def _prepare(self, call: _Call) -> tuple[Timing, Fault | None]:
        """The request's timing and fault; raises the fault when it is an error status."""
        if isinstance(call.body, str):
            raise SimError(400, "We could not parse the JSON body of your request.")
        profile = self.state.config.profile(call.model)
        try:
            timing = timing_for(profile, call.request.headers)
            fault = choose_fault(
                call.request.headers, self.state.faults, profile, call.model, self.state.rng
            )
        except ValueError as exc:
            raise SimError(400, str(exc)) from None
        if fault is not None and fault.kind is FaultKind.STATUS:
            message = fault_message(fault.status)
            raise SimError(fault.status, message, retry_after_s=fault.retry_after_s)
        if fault is not None and fault.kind is FaultKind.TIMEOUT:
            await _hang(call.receive, fault.timeout_s)
        return timing, fault

    async def chat(self, call: _Call) -> None:
        timing, fault = await self._prepare(call)
        chat = openai_format.parse_chat(call.body)
        results = [self._answer(chat.question, call.model, timing) for _ in range(chat.n)]
        if fault is not None and fault.kind in ANSWER_FAULTS:
            results = [spoiled(result, fault.kind, chat.question) for result in results]
        if chat.stream:
            stream = openai_format.completion_stream(chat, results[0])
            await _stream(call, stream, timing, fault)
        else:
            await _pause(timing.total_s(max(result.completion_tokens for result in results)))
            await _whole(call, openai_format.completion(chat, results), fault)

    def _answer(self, question: Question, model: str | None, timing: Timing) -> Answer:
        """The model's answer: its profile's kind of answer, or the echo when it has none."""
        profile = self.state.config.profile(model)
        if profile.answers == "moderation":
            return moderation.verdict(question, profile.flag_words)
        if profile.answers == "noisy-solver":
            solved = solver_answer(question, profile.accuracy, self.state.rng)
            if solved is not None:
                return solved
        if profile.answers == "judge":
            return judged(question.prompt, profile.position_bias)
        result = answer(question, timing.output_tokens)
        if profile.quality is not None and question.response_format is None:
            return marked(result, profile.quality)
        if profile.token_chars is not None:
            return recut(result, profile.token_chars)
        return result

    async def messages(self, call: _Call) -> None:
        timing, fault = await self._prepare(call)
        request = anthropic_format.parse_messages(call.body)
        result = self._answer(request.question, call.model, timing)
        if request.stream:
            stream = anthropic_format.message_stream(request, result)
            await _stream(call, stream, timing, fault)
        else:
            await _pause(timing.total_s(result.completion_tokens))
            await _whole(call, anthropic_format.message(request, result), fault)

    async def count_tokens(self, call: _Call) -> None:
        timing, fault = await self._prepare(call)
        body = anthropic_format.token_count(call.body)
        await _pause(timing.total_s(0))
        await _whole(call, body, fault)

    async def completions(self, call: _Call) -> None:
        timing, fault = await self._prepare(call)
        request = text_completions.parse_completion(call.body)
        if request.stream:
            stream, _ = text_completions.completion_stream(request, timing.output_tokens)
            await _stream(call, stream, timing, fault)
        else:
            body, tokens = text_completions.completion(request, timing.output_tokens)
            await _pause(timing.total_s(tokens))
            await _whole(call, body, fault)

    async def responses(self, call: _Call) -> None:
        timing, fault = await self._prepare(call)
        request = responses_format.parse_responses(call.body)
        result = answer(request.question, timing.output_tokens)
        if fault is not None and fault.kind in ANSWER_FAULTS:
            result = spoiled(result, fault.kind, request.question)
        if request.stream:
            await _stream(call, responses_format.response_stream(request, result), timing, fault)
        else:
            await _pause(timing.total_s(result.completion_tokens))
            await _whole(call, responses_format.response(request, result), fault)

    async def embeddings(self, call: _Call) -> None:
        timing, fault = await self._prepare(call)
        dimensions = self.state.config.profile(call.model).embedding_dimensions
        _, body = openai_format.embeddings(call.body, dimensions)
        await _pause(timing.total_s(1))
        await _whole(call, body, fault)


_GENERATION_ROUTES: dict[tuple[str, str], _Generate] = {
    ("POST", "/v1/chat/completions"): SimulatorApp.chat,
    ("POST", "/v1/messages"): SimulatorApp.messages,
    ("POST", "/v1/messages/count_tokens"): SimulatorApp.count_tokens,
    ("POST", "/v1/completions"): SimulatorApp.completions,
    ("POST", "/v1/responses"): SimulatorApp.responses,
    ("POST", "/v1/embeddings"): SimulatorApp.embeddings,
}

_CONTROL_ROUTES: dict[tuple[str, str], _Control] = {
    ("POST", "/_sim/faults"): control.queue_faults,
    ("GET", "/_sim/faults"): control.list_faults,
    ("DELETE", "/_sim/faults"): control.clear_faults,
    ("GET", "/_sim/requests"): control.recent_requests,
    ("GET", "/_sim/stats"): control.stats,
    ("POST", "/_sim/reset"): control.reset,
}


def _request_id_header(call: _Call) -> tuple[bytes, bytes]:
    return call.dialect.request_id_header, b"req_" + uuid.uuid4().hex.encode()


def _error_headers(call: _Call, error: SimError) -> RawHeaders:
    headers = [_request_id_header(call)]
    if error.status != 429:
        return headers
    seconds = 1.0 if error.retry_after_s is None else error.retry_after_s
    headers += [
        (b"retry-after", str(math.ceil(seconds)).encode()),
        (b"retry-after-ms", str(round(seconds * 1000)).encode()),
        *call.dialect.rate_limit_headers(seconds),
    ]
    if call.dialect is not _OPENAI:
        # The contract promises OpenAI's names on every path: clients look for them first.
        headers += openai_format.rate_limit_headers(seconds)
    return headers


async def _pause(seconds: float) -> None:
    # Skipping a zero sleep saves a trip through the event loop on the benchmark's hot path.
    if seconds > 0:
        await asyncio.sleep(seconds)


async def _hang(receive: Receive, seconds: float) -> None:
    """Say nothing for `seconds` (then 504), or until the client gives up."""
    try:
        await asyncio.wait_for(wait_for_disconnect(receive), seconds)
    except TimeoutError:
        raise SimError(504, fault_message(504)) from None
    raise _ClientGoneError


async def _whole(call: _Call, body: bytes, fault: Fault | None) -> None:
    kind = fault.kind if fault is not None else None
    headers = [_request_id_header(call)]
    if kind is FaultKind.MALFORMED:
        body = body[: len(body) // 2]
        await call.responder.payload(200, body, headers=headers)
    elif kind is FaultKind.CUT:
        # Promise the whole length, send half, and return: the server then drops the connection.
        await call.responder.start(200, b"application/json", headers, len(body))
        await call.responder.body(body[: len(body) // 2], more=True)
    else:
        await call.responder.payload(200, body, headers=headers)


async def _stream(call: _Call, stream: EventStream, timing: Timing, fault: Fault | None) -> None:
    headers = [_request_id_header(call)]
    if not timing.token_interval_s:
        # Nothing is paced out, so there is nothing to stop early: skip the watcher's cost.
        await deliver(call.responder, stream, timing, fault, headers)
        return
    watcher = asyncio.create_task(wait_for_disconnect(call.receive))
    try:
        finished = await deliver(call.responder, stream, timing, fault, headers, watcher.done)
    finally:
        watcher.cancel()
    if not finished:
        raise _ClientGoneError


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await asyncio.to_thread(warm_up)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def build_app(config: SimulatorConfig | None = None) -> SimulatorApp:
    """The simulator as an ASGI app, to serve with any ASGI server or mount in-process."""
    return SimulatorApp(config or SimulatorConfig())
