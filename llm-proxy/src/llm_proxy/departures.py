"""A client that leaves has the work for it cancelled; one that stays pays nothing for that.

The gateway's HTTP protocol (`connections.HeaderDeadlineProtocol`) gives each request a
`Departure` in its ASGI scope's extensions (`departure_of`). While the request's task waits
on work only its client wants (the pipeline's run, the relay of a stream), the handler arms
the departure with that task (`unless_departed`); a connection lost while it is armed has
the protocol cancel the task and mark the departure, and that cancellation, told from any
other by the mark, becomes `ClientDisconnected`. A cancellation of another cause (the
server shutting down) stays a CancelledError, as asyncio requires.

This replaces a watcher task per request waiting on `receive()` for `http.disconnect`: its
start, switches and cancellation were a fair part of a request's cost, while arming is two
attribute writes and the protocol learns of the loss (`connection_lost`) anyway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any, TypeVar

T = TypeVar("T")

# The key of a request's `Departure` in its scope's "extensions".
EXTENSION = "llm_proxy.departure"


class ClientDisconnected(Exception):
    """The client went away before the answer; the work for it was cancelled."""


class Departure:
    """One request's client leaving: the task to cancel then, and whether it has left."""

    __slots__ = ("left", "task")

    def __init__(self) -> None:
        self.task: asyncio.Task[Any] | None = None
        self.left = False

    def client_left(self) -> None:
        """The connection was lost before the response was complete (the protocol calls it)."""
        self.left = True
        task = self.task
        if task is not None:
            self.task = None
            task.cancel()


def departure_of(scope: Mapping[str, Any]) -> Departure | None:
    """The request's departure; None when the server is not the gateway's own protocol."""
    extensions = scope.get("extensions")
    return extensions.get(EXTENSION) if extensions else None


async def unless_departed(departure: Departure | None, work: Coroutine[Any, Any, T]) -> T:
    """Await `work` in this task, cancelled (ClientDisconnected) if the client leaves first.

    A client already gone is not worked for. Without a departure (another ASGI server)
    `work` is simply awaited.
    """
    if departure is None:
        return await work
    if departure.left:
        work.close()
        raise ClientDisconnected
    task = departure.task = asyncio.current_task()
    assert task is not None
    try:
        return await work
    except asyncio.CancelledError:
        if departure.left:
            task.uncancel()
            raise ClientDisconnected from None
        raise
    finally:
        departure.task = None
