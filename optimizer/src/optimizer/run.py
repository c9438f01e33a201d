"""Running a request's approaches (`a&b`: b takes a's answer as its query) under its caps.

OptiLLM's functions are synchronous: they run in a worker thread of the app's bounded pool.
The deadline bounds the approaches: when it passes first, the run is stopped (its sub-calls
in flight time out at the deadline too) and one plain call answers instead, if the call cap
leaves room for it. A cap reached mid-run stops it the same way, and the last answer a
sub-call gave is the answer. A sub-call
the gateway refused (a budget, a rate limit) fails the whole run with the gateway's status.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from optimizer.approaches import Approach
from optimizer.conversation import Conversation
from optimizer.sub_calls import Stopped, SubCallFailed, SubCalls, Tally

_CAPS = ("max_calls", "max_total_tokens")


@dataclass(frozen=True, slots=True)
class Outcome:
    label: str  # the pipeline as asked: "moa", "re2&moa"
    answer: str
    tally: Tally
    fallback: str | None = None  # "deadline": the plain call answered instead
    stopped: str | None = None  # the cap that cut the run short

    def header(self) -> str:
        """`x-gateway-optimizer`: what ran and what it used."""
        parts = [self.label]
        if self.fallback is not None:
            parts.append(f"fallback={self.fallback}")
        if self.stopped is not None:
            parts.append(f"stopped={self.stopped}")
        parts += [f"calls={self.tally.calls}", f"tokens={self.tally.total_tokens}"]
        return "; ".join(parts)


class RunFailed(Exception):
    def __init__(self, status: int, message: str, code: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class Plan:
    approaches: list[Approach]
    conversation: Conversation
    model: str
    request_config: dict[str, Any]

    @property
    def label(self) -> str:
        return "&".join(approach.name for approach in self.approaches)


async def run(
    plan: Plan, sub_calls: SubCalls, pool: ThreadPoolExecutor, deadline: float, fallback_s: float
) -> Outcome:
    loop = asyncio.get_running_loop()
    work = asyncio.wrap_future(pool.submit(_answer, plan, sub_calls))
    try:
        answer: str | None = await asyncio.wait_for(
            asyncio.shield(work), timeout=max(deadline - time.monotonic(), 0)
        )
    except TimeoutError:
        sub_calls.stop("deadline")
        answer = None
    except Stopped:
        answer = None
    except SubCallFailed as error:
        _raise_sub_call_error(sub_calls, error)
        answer = None
    except Exception as error:  # OptiLLM raises bare Exceptions on answers it cannot use
        if sub_calls.error is None and sub_calls.stopped is None:
            message = f"Approach {plan.label} failed: {error}"
            raise RunFailed(502, message, "optimizer_approach_failed") from None
        answer = None
    _raise_sub_call_error(sub_calls, None)
    stopped = sub_calls.stopped
    if stopped in _CAPS:
        return _capped(plan, sub_calls, stopped)
    if stopped == "deadline" or answer is None:
        try:
            response = await loop.run_in_executor(pool, sub_calls.plain, fallback_s)
        except Stopped:  # the approach used every call the cap allows: none left for it
            return _capped(plan, sub_calls, "max_calls")
        _raise_sub_call_error(sub_calls, None)
        text = response.choices[0].message.content or "" if response.choices else ""
        return Outcome(plan.label, text, sub_calls.tally, fallback="deadline")
    return Outcome(plan.label, answer, sub_calls.tally)


def _capped(plan: Plan, sub_calls: SubCalls, cap: str) -> Outcome:
    """A cap cut the run short: the last answer a sub-call gave, if there is one."""
    last = sub_calls.tally.last_answer
    if last is None:
        message = f"Approach {plan.label} reached {cap} before any answer."
        raise RunFailed(429, message, "optimizer_cap_reached")
    return Outcome(plan.label, last, sub_calls.tally, stopped=cap)


def _answer(plan: Plan, sub_calls: SubCalls) -> str:
    """Runs in a worker thread: each approach's answer is the next one's query."""
    conversation = plan.conversation
    query = conversation.query
    for approach in plan.approaches:
        if approach.function is None:
            messages = [{"role": "user", "content": query}]
            if conversation.system_prompt:
                messages.insert(0, {"role": "system", "content": conversation.system_prompt})
            response = sub_calls.create(messages=messages, **plan.request_config)
            query = response.choices[0].message.content or "" if response.choices else ""
            continue
        result, _ = approach.function(
            conversation.system_prompt, query, sub_calls, plan.model, dict(plan.request_config)
        )
        query = str(result[0] if isinstance(result, list) and result else result)
    return query


def _raise_sub_call_error(sub_calls: SubCalls, error: SubCallFailed | None) -> None:
    """A sub-call the gateway refused fails the run with the gateway's own status."""
    failed = sub_calls.error
    if failed is not None:
        raise RunFailed(failed.status, str(failed), "optimizer_sub_call_failed")
    if error is not None and sub_calls.stopped != "deadline":
        raise RunFailed(502, f"A sub-call failed: {error}", "optimizer_sub_call_failed")
