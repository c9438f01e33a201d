"""Delegated credentials: the one credential an optimizer run's sub-calls come back with.

The gateway mints it when a request starts an optimizer run and ends it when that request
ends; the caller's own key never leaves the gateway. It is good only for chat completion
sub-calls of that request, on its model, up to its call cap, and not after the request
ends or its time runs out: anything else is refused. A sub-call runs as the caller (their
key's limits, budgets and team), its spend record names the parent request, and its
tokens and cost are added to the parent's roll-up when that record is written.

Held in this process (state on the gateway): the optimizer's sub-calls must reach the
replica that minted the credential (see the README's optimizer section).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llm_proxy.optimizer.fanout import FanOut
from llm_proxy.pipeline.errors import GatewayError

if TYPE_CHECKING:
    from llm_proxy.identity import Identity
    from llm_proxy.pipeline.context import Api
    from llm_proxy.pipeline.residency import Residency
    from llm_proxy.store.request_log import RequestRecord

PREFIX = "sk-gwdel-"


@dataclass(slots=True)
class Delegation:
    parent_request_id: str
    identity: Identity
    model: str
    max_calls: int
    expires_at: float  # time.monotonic()
    calls: int = 0
    in_flight: int = 0
    fanout: FanOut = field(default_factory=FanOut)
    # The regions the parent request may be served in: its sub-calls may not go wider.
    residency: Residency | None = None
    _idle: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._idle.set()


class Delegations:
    def __init__(self) -> None:
        self._by_hash: dict[str, Delegation] = {}

    def mint(
        self, parent_request_id: str, identity: Identity, model: str, max_calls: int, ttl_s: float
    ) -> tuple[str, Delegation]:
        self._forget_expired()
        secret = PREFIX + secrets.token_urlsafe(32)
        delegation = Delegation(
            parent_request_id, identity, model, max_calls, time.monotonic() + ttl_s
        )
        self._by_hash[_digest(secret)] = delegation
        return secret, delegation

    def admit(self, presented: str, api: Api) -> Delegation:
        """A sub-call arriving with `presented`: counted in flight, or refused."""
        delegation = self._by_hash.get(_digest(presented))
        if delegation is None or delegation.expires_at <= time.monotonic():
            raise GatewayError(
                401,
                "This delegated credential is not valid: the request it was made for has "
                "ended, or it never existed.",
                code="invalid_api_key",
            )
        if api != "chat":
            raise GatewayError(
                403,
                "A delegated credential makes chat completion sub-calls of its request only.",
                code="delegation_scope",
            )
        if delegation.calls >= delegation.max_calls:
            raise GatewayError(
                429,
                f"This request's optimizer run has made its {delegation.max_calls} sub-calls.",
                code="optimizer_max_calls",
            )
        delegation.calls += 1
        delegation.in_flight += 1
        delegation._idle.clear()
        return delegation

    def recorded(self, delegation: Delegation, record: RequestRecord) -> None:
        """A sub-call's spend record was written: it counts in its parent's roll-up."""
        fanout = delegation.fanout
        fanout.calls += 1
        fanout.prompt_tokens += record.prompt_tokens
        fanout.completion_tokens += record.completion_tokens
        fanout.cost_usd += record.cost_usd
        delegation.in_flight -= 1
        if delegation.in_flight <= 0:
            delegation._idle.set()

    async def end(self, secret: str, delegation: Delegation, wait_s: float) -> FanOut:
        """No more sub-calls; the sum of them, once those in flight (up to `wait_s`) ended."""
        self._by_hash.pop(_digest(secret), None)
        # A sub-call still running after that is counted by its own record, not the roll-up.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(delegation._idle.wait(), timeout=wait_s)
        return delegation.fanout

    def _forget_expired(self) -> None:
        now = time.monotonic()
        expired = [d for d, delegation in self._by_hash.items() if delegation.expires_at <= now]
        for digest in expired:
            del self._by_hash[digest]


def is_delegated(presented: str | None) -> bool:
    return presented is not None and presented.startswith(PREFIX)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
