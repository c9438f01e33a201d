"""Admission to a saturated model group: priority classes first, then weighted fair queuing
over tokens between teams.

While a group has a deployment free and nobody waits, a request takes it at once (one pick,
no queue). When none is free — max_rpm/max_tpm/max_concurrency reached, or every deployment
sitting out a provider's 429 — the request waits in the group's queue, ordered by class
(`high`, `normal`, `low`) and, within a class, by its start tag (start-time fair queuing:
a team's tag grows by the request's estimated tokens over the team's weight, so a team that
sends ten times more waits ten times longer, and each backlogged team gets its weight's
share of the tokens). Only the first waiter (per set of allowed regions) polls for
room; the next one looks only after the admitted attempt has charged its deployment,
so two waiters never take the same room. A waiter whose class's queue time runs out is
shed. Classes below `high` see a deployment as full at `1 - reserved_share` of its
limits: the rest is `high`'s.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import itertools
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from llm_proxy.config.policies import PRIORITY_CLASSES, PriorityClass
from llm_proxy.upstream.deployment import Deployment
from llm_proxy.upstream.registry import Registry

_RANK: dict[PriorityClass, int] = {cls: rank for rank, cls in enumerate(PRIORITY_CLASSES)}
# How often the first waiter looks for room: a Retry-After ending or the window sliding
# raise no event of their own.
_POLL_S = 0.005


@dataclass(slots=True)
class Ticket:
    """A request's place in the policies: its class, its team's share, how long it may wait."""

    cls: PriorityClass
    team: str
    weight: float
    queue_s: float
    # The share of each deployment's limits this class may fill.
    headroom: float = 1.0
    # Set when it first has to wait (time.monotonic()); one budget for all its waits.
    deadline: float | None = None
    waited_s: float = 0.0
    shed: bool = False
    # Its start tag in each group's queue: kept when it queues again after a 429.
    tags: dict[str, float] = field(default_factory=dict)

    def time_left(self, now: float) -> float:
        if self.deadline is None:
            self.deadline = now + self.queue_s
        return self.deadline - now


@dataclass(eq=False, slots=True)
class _Waiter:
    order: tuple[int, float, int]
    ticket: Ticket
    regions: frozenset[str] | None
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class _Queue:
    """One group's waiters, most urgent first, and its fair-queuing clock."""

    def __init__(self) -> None:
        self.waiters: list[_Waiter] = []
        self.virtual = 0.0
        self.finish: dict[str, float] = {}

    def tag(self, ticket: Ticket, tokens: int) -> float:
        """The request's start tag; its team's next one starts after its tokens."""
        start = max(self.virtual, self.finish.get(ticket.team, 0.0))
        self.finish[ticket.team] = start + max(tokens, 1) / ticket.weight
        return start

    def first(self, waiter: _Waiter) -> bool:
        return next(w for w in self.waiters if w.regions == waiter.regions) is waiter

    def leave(self, waiter: _Waiter) -> None:
        with contextlib.suppress(ValueError):
            self.waiters.remove(waiter)
        # The new first waiter of each region set looks for room next: on the loop's next
        # turn, after the attempt just admitted has charged its deployment (the dispatcher
        # starts it as a task), so the room it took is not handed out twice.
        seen: set[frozenset[str] | None] = set()
        loop = asyncio.get_running_loop()
        for other in self.waiters:
            if other.regions not in seen:
                seen.add(other.regions)
                loop.call_soon(other.wake.set)


class Admission:
    def __init__(self) -> None:
        self._queues: dict[str, _Queue] = {}
        self._sequence = itertools.count()
        # (class, team) -> count: what was admitted after waiting, and what was shed.
        self.admitted: Counter[tuple[str, str]] = Counter()
        self.queued: Counter[tuple[str, str]] = Counter()
        self.shed: Counter[tuple[str, str]] = Counter()
        self.tokens: Counter[tuple[str, str]] = Counter()

    async def acquire(
        self,
        registry: Registry,
        group: str,
        ticket: Ticket,
        tokens: int,
        session: str | None,
        tried: Sequence[Deployment],
        caller: str | None,
        regions: frozenset[str] | None,
    ) -> Deployment | None:
        """A deployment of `group` for this request, once it is its turn; None: shed."""
        queue = self._queues.get(group)
        if queue is None:
            queue = self._queues[group] = _Queue()
        tag = ticket.tags.get(group)
        if tag is None:
            tag = ticket.tags[group] = queue.tag(ticket, tokens)
        if not queue.waiters:
            deployment = registry.pick(
                group, session, tried, caller, regions, ticket.headroom, tokens
            )
            if deployment is not None:
                return self._admitted(queue, ticket, tag, tokens, deployment)
        started = time.monotonic()
        if ticket.time_left(started) <= 0:
            self._shed(ticket)
            return None
        waiter = _Waiter((_RANK[ticket.cls], tag, next(self._sequence)), ticket, regions)
        bisect.insort(queue.waiters, waiter, key=lambda w: w.order)
        self.queued[ticket.cls, ticket.team] += 1
        try:
            while True:
                now = time.monotonic()
                if queue.first(waiter):
                    deployment = registry.pick(
                        group, session, tried, caller, regions, ticket.headroom, tokens
                    )
                    if deployment is not None:
                        ticket.waited_s += now - started
                        return self._admitted(queue, ticket, tag, tokens, deployment)
                    timeout = _POLL_S
                else:
                    timeout = ticket.time_left(now)
                left = ticket.time_left(now)
                if left <= 0:
                    ticket.waited_s += now - started
                    self._shed(ticket)
                    return None
                waiter.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(waiter.wake.wait(), min(timeout, left))
        finally:
            queue.leave(waiter)

    def depth(self) -> dict[str, dict[str, int]]:
        """Requests waiting now, per group and class."""
        depths: dict[str, dict[str, int]] = {}
        for group, queue in self._queues.items():
            counts: dict[str, int] = dict.fromkeys(PRIORITY_CLASSES, 0)
            for waiter in queue.waiters:
                counts[waiter.ticket.cls] += 1
            depths[group] = counts
        return depths

    def _admitted(
        self, queue: _Queue, ticket: Ticket, tag: float, tokens: int, deployment: Deployment
    ) -> Deployment:
        queue.virtual = max(queue.virtual, tag)
        self.admitted[ticket.cls, ticket.team] += 1
        self.tokens[ticket.cls, ticket.team] += tokens
        return deployment

    def _shed(self, ticket: Ticket) -> None:
        ticket.shed = True
        self.shed[ticket.cls, ticket.team] += 1
