"""The client object OptiLLM's approaches call: every sub-call goes back through the gateway.

An approach sees `client.chat.completions.create(**request)` and gets a chat completion back
(`completion.Completion`: the parts of OpenAI's `ChatCompletion` the approaches read). Each
call is one POST to the gateway (never to a provider) on a pooled keep-alive connection
(`gateway_http`: the SDK, httpx and urllib3 each cost a large part of the CPU budget per
sub-call), under the request's delegated credential and its parent request id, so the
gateway's limits, budgets, spend log and trace count it. The run's caps (calls, tokens,
the deadline) are checked before each call; once one is reached, or a sub-call fails, the
run is stopped: every later call raises `Stopped`, so an approach that catches errors and
retries cannot spend past it. Thread-safe: an approach may call from several threads.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

from optimizer.completion import Completion, NotACompletion, parse
from optimizer.conversation import Conversation
from optimizer.gateway_http import Answer, GatewayConnections, GatewayUnreachable

# Request fields an approach may set on a sub-call; anything else it sends is dropped.
_SUB_CALL_FIELDS = ("messages", "max_tokens", "temperature", "n", "top_p", "stop", "seed")


class Stopped(Exception):
    """The run may make no more sub-calls: a cap or the deadline was reached, or one failed."""


class SubCallFailed(Exception):
    """The gateway refused a sub-call (`status` is its answer's), or it never answered (0)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Caps:
    max_calls: int
    max_total_tokens: int
    deadline: float  # time.monotonic() by which the approach must be done


@dataclass(slots=True)
class Tally:
    """What a run's sub-calls used, as the gateway answered them."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    last_answer: str | None = None
    request_ids: list[str] = field(default_factory=list)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class SubCalls:
    """One request's sub-calls: `chat.completions.create` for OptiLLM, the tally for us."""

    def __init__(
        self,
        http: GatewayConnections,
        path: str,
        headers: dict[str, str],
        model: str,
        conversation: Conversation,
        caps: Caps,
        params: dict[str, Any],
    ) -> None:
        self._http = http
        self._path = path
        self._headers = headers
        self._model = model
        self._conversation = conversation
        self._caps = caps
        self._params = params
        self._lock = threading.Lock()
        self.tally = Tally()
        # Why the run stopped (a cap's name, "deadline"), or the sub-call error that stopped it.
        self.stopped: str | None = None
        self.error: SubCallFailed | None = None
        self.chat = self  # OptiLLM calls client.chat.completions.create
        self.completions = self

    def create(self, **request: Any) -> Completion:
        timeout = self._admit()
        body = {name: request[name] for name in _SUB_CALL_FIELDS if name in request}
        body["messages"] = self._conversation.messages_for(list(request.get("messages") or []))
        return self._send({**self._params, **body}, timeout)

    def plain(self, timeout_s: float) -> Completion:
        """One call with the conversation as sent, past any stop but the call cap (which the
        gateway holds the delegated credential to as well): the deadline's fallback."""
        with self._lock:
            if self.tally.calls >= self._caps.max_calls:
                raise Stopped("max_calls")
            self.tally.calls += 1
        messages: list[dict[str, Any]] = []
        if self._conversation.system_prompt:
            messages.append({"role": "system", "content": self._conversation.system_prompt})
        messages.append({"role": "user", "content": self._conversation.query})
        body = {**self._params, "messages": self._conversation.messages_for(messages)}
        return self._send(body, timeout_s)

    def stop(self, reason: str) -> None:
        with self._lock:
            if self.stopped is None:
                self.stopped = reason

    def _admit(self) -> float:
        """Count the call against the caps; the time it may take. Raises Stopped."""
        with self._lock:
            caps, tally = self._caps, self.tally
            left = caps.deadline - time.monotonic()
            if self.stopped is None:
                if tally.calls >= caps.max_calls:
                    self.stopped = "max_calls"
                elif tally.total_tokens >= caps.max_total_tokens:
                    self.stopped = "max_total_tokens"
                elif left <= 0:
                    self.stopped = "deadline"
            if self.stopped is not None:
                raise Stopped(self.stopped)
            tally.calls += 1
            return left

    def _send(self, body: dict[str, Any], timeout_s: float) -> Completion:
        if self._conversation.tools is not None:
            body = {**body, "tools": self._conversation.tools, "tool_choice": "none"}
        payload = orjson.dumps({**body, "model": self._model})
        try:
            response = self._http.post(self._path, self._headers, payload, timeout_s)
        except GatewayUnreachable as exc:
            late = time.monotonic() >= self._caps.deadline
            self.stop("deadline" if late else "sub-call failed")
            raise SubCallFailed(0, str(exc)) from None
        if response.status != 200:
            raise self._failed(SubCallFailed(response.status, _error_message(response)))
        try:
            completion = parse(response.body)
        except NotACompletion as exc:
            message = f"The gateway's answer to a sub-call is unreadable: {exc}"
            raise self._failed(SubCallFailed(502, message)) from None
        with self._lock:
            usage = completion.usage
            if usage is not None:
                self.tally.prompt_tokens += usage.prompt_tokens
                self.tally.completion_tokens += usage.completion_tokens
            if completion.choices and completion.choices[0].message.content is not None:
                self.tally.last_answer = completion.choices[0].message.content
            if response.request_id:
                self.tally.request_ids.append(response.request_id)
        return completion

    def _failed(self, failed: SubCallFailed) -> SubCallFailed:
        """The run stops on the first failed sub-call, which is the error it reports."""
        with self._lock:
            self.error = self.error or failed
            self.stopped = self.stopped or "sub-call failed"
        return failed


def _error_message(response: Answer) -> str:
    try:
        error = orjson.loads(response.body)["error"]
        return f"A sub-call was refused: {error['message']}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return f"A sub-call was refused with {response.status}."
