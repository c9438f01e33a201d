"""Running one API request through the pipeline, the same way for every endpoint."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.parameters import refuse_undocumented
from llm_proxy.api.requests import new_context, read_body
from llm_proxy.api.responses import ErrorFormat, error_response, reply_response, stream_response
from llm_proxy.departures import ClientDisconnected, departure_of, unless_departed
from llm_proxy.pipeline.context import Api, RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.request_path import RequestPath
from llm_proxy.upstream.transports.base import Reply, Stream

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
        result = await unless_departed(departure_of(request.scope), pipeline.run(ctx))
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
