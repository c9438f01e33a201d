"""Running one API request through the pipeline, the same way for every endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.parameters import refuse_undocumented
from llm_proxy.api.requests import new_context, read_body
from llm_proxy.api.responses import ErrorFormat, error_response, reply_response, stream_response
from llm_proxy.pipeline.context import Api, RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.request_path import RequestPath
from llm_proxy.timeouts import Timeouts
from llm_proxy.upstream.transports.base import Reply, Stream

T = TypeVar("T")
Validate = Callable[[dict[str, Any]], None]
# What an API does to its answer before it goes out (the Responses API stores it).
Answered = Callable[[Reply | Stream], Reply | Stream]
# An API's own step between validation and the pipeline; it returns its `Answered`.
Prepare = Callable[[RequestContext], Awaitable[Answered]]


async def handle(
    request: Request,
    api: Api,
    validate: Validate,
    render_error: ErrorFormat,
    error_event: Callable[[str], bytes],
    prepare: Prepare | None = None,
) -> Response:
    pipeline: RequestPath = request.app.state.pipeline
    ctx = new_context(request, api)
    pipeline.begin(ctx, request.headers)
    try:
        await pipeline.identify(ctx)
        await read_body(ctx, request)
        refuse_undocumented(api, ctx.body)
        await pipeline.template(ctx)
        validate(ctx.body)
        answered = await prepare(ctx) if prepare is not None else None
        result = await until_disconnected(request, pipeline.run(ctx))
        if answered is not None:
            result = answered(result)
    except GatewayError as error:
        pipeline.failed(ctx, error.status, error.message)
        return error_response(error, render_error, ctx.request_id)
    except ClientDisconnected:
        pipeline.failed(ctx, 499, "The client closed the request before the answer.")
        # Nobody is there to read it; the status is what the spend log and metrics see.
        return Response(status_code=499)
    except Exception:
        pipeline.failed(ctx, 500, "The gateway hit an internal error.")
        raise
    response = (
        reply_response(ctx, result)
        if isinstance(result, Reply)
        else stream_response(ctx, result, pipeline, error_event)
    )
    if ctx.shadow is not None:
        # Due a shadow run: it starts once the whole response has been sent.
        response.background = BackgroundTask(pipeline.delivered, ctx)
    return response


# Work quicker than this is not watched for the client leaving (see until_disconnected).
_WATCH_AFTER_S = 0.05


class ClientDisconnected(Exception):
    """The client went away before the answer; the work for it was cancelled."""


async def until_disconnected(request: Request, work: Awaitable[T]) -> T:
    """Await `work`, cancelling it (and so its upstream call) if the client goes away.

    The work runs in the request's own task, which the watcher cancels. The watcher (a
    task waiting on the connection) is started only once the work has taken
    `_WATCH_AFTER_S`: a quicker answer is out before a departure could save anything, and
    its task's start, switches and cancellation were a fair part of such a request's
    cost. It sees a client that left before it started at once. A cancellation the
    watcher caused becomes ClientDisconnected; any other (the server shutting down) stays
    a CancelledError, as asyncio requires.
    """
    task = asyncio.current_task()
    assert task is not None
    watches = _watches_on(asyncio.get_running_loop())
    watched = _Watched(request, task)
    watches.start(watched)
    try:
        return await work
    except asyncio.CancelledError:
        watcher = watched.watcher
        if watcher is not None and watcher.done() and not watcher.cancelled():
            task.uncancel()
            raise ClientDisconnected from None
        raise
    finally:
        watches.stop(watched)
        if watched.watcher is not None:
            watched.watcher.cancel()


class _Watched:
    __slots__ = ("request", "task", "watcher")

    def __init__(self, request: Request, task: asyncio.Task[Any]) -> None:
        self.request = request
        self.task = task
        self.watcher: asyncio.Task[None] | None = None


def _watch(watched: _Watched) -> None:
    watched.watcher = watched.task.get_loop().create_task(
        _cancel_on_disconnect(watched.request, watched.task)
    )


# The requests in flight on one event loop, each given its watcher once it has taken
# `_WATCH_AFTER_S`; one timer serves them all (`llm_proxy.timeouts`).
_watches: Timeouts[_Watched] | None = None


def _watches_on(loop: asyncio.AbstractEventLoop) -> Timeouts[_Watched]:
    global _watches
    if _watches is None or _watches.loop is not loop:
        _watches = Timeouts(loop, _WATCH_AFTER_S, _watch)
    return _watches


async def _cancel_on_disconnect(request: Request, task: asyncio.Future[Any]) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            task.cancel()
            return
