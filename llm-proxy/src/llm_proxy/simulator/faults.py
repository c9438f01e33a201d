"""Injected failures: what can go wrong with one request, and how it is chosen.

Three sources, most specific first: the `x-sim-fault` request header, the scripted queue filled
through `POST /_sim/faults`, then the per-model random rates of the configuration.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from llm_proxy.simulator.config import ModelProfile


class FaultKind(StrEnum):
    STATUS = "status"  # an error status before any byte of the answer
    TIMEOUT = "timeout"  # no answer for timeout_s, then 504
    CUT = "cut"  # the connection drops part-way through the body
    MALFORMED = "malformed"  # 200 whose body (or one SSE event) is not valid JSON
    # A well-formed answer that is not a good one (chat completions and the Responses API;
    # see answer.spoiled).
    REFUSAL = "refusal"  # the model declines
    UNCERTAIN = "uncertain"  # it says it is not sure
    LENGTH = "length"  # it stops at half its tokens, finish_reason "length"
    BAD_JSON = "bad_json"  # asked for JSON, it answers prose
    BAD_TOOL_ARGS = "bad_tool_args"  # its tool call's arguments are not JSON
    UNKNOWN_TOOL = "unknown_tool"  # it calls a tool it was not offered


# The faults that change what the model says rather than how it is delivered.
ANSWER_FAULTS = frozenset(
    {
        FaultKind.REFUSAL,
        FaultKind.UNCERTAIN,
        FaultKind.LENGTH,
        FaultKind.BAD_JSON,
        FaultKind.BAD_TOOL_ARGS,
        FaultKind.UNKNOWN_TOOL,
    }
)


@dataclass(frozen=True, slots=True)
class Fault:
    kind: FaultKind
    status: int = 200
    retry_after_s: float = 1.0
    timeout_s: float = 60.0

    def describe(self) -> str:
        return str(self.status) if self.kind is FaultKind.STATUS else self.kind.value


class FaultError(ValueError):
    """A fault spec that names no known fault."""


def parse_fault(spec: str, *, retry_after_s: float = 1.0, timeout_s: float = 60.0) -> Fault:
    """`"500"`, `"429"` (any 4xx/5xx), `"timeout"`, `"cut"`, `"malformed"` or an answer
    fault (`"refusal"`, `"uncertain"`, `"length"`, `"bad_json"`, `"bad_tool_args"`,
    `"unknown_tool"`) as a Fault."""
    spec = spec.strip().lower()
    if spec in (FaultKind.TIMEOUT, FaultKind.CUT, FaultKind.MALFORMED) or spec in ANSWER_FAULTS:
        return Fault(FaultKind(spec), retry_after_s=retry_after_s, timeout_s=timeout_s)
    if spec.isdigit() and 400 <= int(spec) <= 599:
        return Fault(FaultKind.STATUS, int(spec), retry_after_s=retry_after_s)
    kinds = ", ".join(sorted(ANSWER_FAULTS))
    raise FaultError(
        f"unknown fault {spec!r}: use a 4xx/5xx status, timeout, cut, malformed or {kinds}"
    )


@dataclass(slots=True)
class _Scripted:
    fault: Fault
    remaining: int
    model: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "fault": self.fault.describe(),
            "remaining": self.remaining,
            "model": self.model,
            "retry_after": self.fault.retry_after_s,
            "timeout_s": self.fault.timeout_s,
        }


class FaultQueue:
    """Faults scripted for the next requests, in order; an entry may be limited to one model."""

    def __init__(self) -> None:
        self._entries: deque[_Scripted] = deque()

    def push(self, fault: Fault, count: int = 1, model: str | None = None) -> None:
        self._entries.append(_Scripted(fault, count, model))

    def take(self, model: str | None) -> Fault | None:
        """The first fault scripted for `model` (or for any model), consuming one use of it."""
        for entry in self._entries:
            if entry.model is None or entry.model == model:
                entry.remaining -= 1
                if entry.remaining <= 0:
                    self._entries.remove(entry)
                return entry.fault
        return None

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def as_json(self) -> list[dict[str, Any]]:
        return [entry.as_json() for entry in self._entries]


def roll_fault(profile: ModelProfile, rng: random.Random) -> Fault | None:
    """One throw of the dice; each rate is its own slice of [0, 1), so rates add up."""
    rates = (
        (profile.error_5xx_rate, FaultKind.STATUS),
        (profile.rate_429_rate, FaultKind.STATUS),
        (profile.timeout_rate, FaultKind.TIMEOUT),
        (profile.cut_stream_rate, FaultKind.CUT),
        (profile.malformed_rate, FaultKind.MALFORMED),
    )
    if not any(rate for rate, _ in rates):
        return None
    throw = rng.random()
    for index, (rate, kind) in enumerate(rates):
        if throw < rate:
            status = (500, 429)[index] if kind is FaultKind.STATUS else 200
            if status == 500:
                status = rng.choice((500, 502, 503))
            return Fault(kind, status, profile.retry_after_s, profile.timeout_s)
        throw -= rate
    return None


def choose_fault(
    headers: Mapping[str, str],
    queue: FaultQueue,
    profile: ModelProfile,
    model: str | None,
    rng: random.Random,
) -> Fault | None:
    """The fault for this request: the header wins, then the script, then the dice."""
    spec = headers.get("x-sim-fault")
    if spec:
        retry_after = headers.get("x-sim-retry-after")
        return parse_fault(
            spec,
            retry_after_s=float(retry_after) if retry_after else profile.retry_after_s,
            timeout_s=profile.timeout_s,
        )
    return queue.take(model) or roll_fault(profile, rng)
