"""Delegated credentials: the one credential an optimizer run's sub-calls come back with.

The gateway mints it when a request starts an optimizer run and ends it when that request
ends; the caller's own key never leaves the gateway. It is good only for chat completion
sub-calls of that request, on its model, up to its call cap, and not after the request
ends or its time runs out: anything else is refused. A sub-call runs as the caller (their
key's limits, budgets and team), its spend record names the parent request, and its
tokens and cost are added to the parent's roll-up when that record is written.

Only the secret's digest is kept. Where: in Redis when `redis.url` is set
(`delegation_redis`), so a sub-call may reach any worker or replica; in this process
otherwise (`delegation_memory`), where one process serves the port.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from llm_proxy.pipeline.errors import GatewayError

if TYPE_CHECKING:
    from llm_proxy.identity import Identity
    from llm_proxy.optimizer.fanout import FanOut
    from llm_proxy.pipeline.context import Api
    from llm_proxy.pipeline.residency import Residency
    from llm_proxy.store.request_log import RequestRecord

PREFIX = "sk-gwdel-"


class DelegationUnavailable(Exception):
    """The store cannot keep a new credential now: the run does not start."""


@dataclass(frozen=True, slots=True)
class Delegation:
    """What a credential was minted for; a sub-call carries it on its context."""

    digest: str  # the credential's, the store's key for it
    parent_request_id: str
    identity: Identity
    model: str
    max_calls: int
    # The regions the parent request may be served in: its sub-calls may not go wider.
    residency: Residency | None = None


class DelegationStore(Protocol):
    async def mint(self, delegation: Delegation, ttl_s: float) -> None: ...

    async def admit(self, digest: str, api: Api) -> Delegation:
        """A sub-call: counted in flight, or refused (`unknown`, `out_of_scope`, `spent`)."""
        ...

    def recorded(self, delegation: Delegation, record: RequestRecord) -> None:
        """A sub-call's spend record was written: it counts in its parent's roll-up."""

    async def end(self, digest: str, wait_s: float) -> FanOut:
        """No more sub-calls; the sum of them, once those in flight (up to `wait_s`) ended.
        A sub-call still running after that is counted by its own record, not the roll-up."""
        ...

    async def close(self) -> None: ...


class Delegations:
    """Credentials minted, presented and ended; kept in `store`."""

    def __init__(self, store: DelegationStore) -> None:
        self.store = store

    async def mint(
        self,
        parent_request_id: str,
        identity: Identity,
        model: str,
        max_calls: int,
        residency: Residency | None,
        ttl_s: float,
    ) -> tuple[str, Delegation]:
        secret = PREFIX + secrets.token_urlsafe(32)
        delegation = Delegation(
            _digest(secret), parent_request_id, identity, model, max_calls, residency
        )
        await self.store.mint(delegation, ttl_s)
        return secret, delegation

    async def admit(self, presented: str, api: Api) -> Delegation:
        return await self.store.admit(_digest(presented), api)

    def recorded(self, delegation: Delegation, record: RequestRecord) -> None:
        self.store.recorded(delegation, record)

    async def end(self, delegation: Delegation, wait_s: float) -> FanOut:
        return await self.store.end(delegation.digest, wait_s)


def unknown() -> GatewayError:
    return GatewayError(
        401,
        "This delegated credential is not valid: the request it was made for has "
        "ended, or it never existed.",
        code="invalid_api_key",
    )


def out_of_scope() -> GatewayError:
    return GatewayError(
        403,
        "A delegated credential makes chat completion sub-calls of its request only.",
        code="delegation_scope",
    )


def spent(max_calls: int) -> GatewayError:
    return GatewayError(
        429,
        f"This request's optimizer run has made its {max_calls} sub-calls.",
        code="optimizer_max_calls",
    )


def is_delegated(presented: str | None) -> bool:
    return presented is not None and presented.startswith(PREFIX)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
