"""Builds the ASGI app: `POST /v1/chat/completions`, `GET /approaches`, `GET /health`.

A streamed request gets its headers at once and SSE comments (`: keep-alive`) while the
sub-calls run, then the final answer as OpenAI's chunks; a client that leaves stops the run.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from optimizer.answer import chunks, completion, error_body, event
from optimizer.conversation import Refused
from optimizer.run import RunFailed
from optimizer.service import Job, Service, Settings

OPTIMIZER_HEADER = "x-gateway-optimizer"


def build_app(settings: Settings) -> Starlette:
    """Loads the approaches before returning, so the first request is as fast as the rest."""
    service = Service(settings)
    # OptiLLM's imports (sympy, z3, Flask, …) leave a few hundred thousand long-lived objects;
    # frozen, the collector no longer walks them all on each full collection during requests.
    gc.collect()
    gc.freeze()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            service.close()

    # Plain Starlette: the handlers read the request themselves, and FastAPI's middleware and
    # dependency solving cost CPU on every request for nothing (the budget is per sub-call).
    routes = [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/approaches", approaches, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    return app


async def chat_completions(request: Request) -> Response:
    service: Service = request.app.state.service
    try:
        job = service.prepare(request.headers, await request.body())
    except Refused as refused:
        return _error(400, str(refused), "invalid_request", refused.param)
    except RunFailed as failed:
        return _error(failed.status, str(failed), failed.code)
    if job.stream:
        label = job.plan.label
        return StreamingResponse(
            _stream(service, job),
            media_type="text/event-stream",
            headers={OPTIMIZER_HEADER: f"{label}; stream", "cache-control": "no-cache"},
        )
    try:
        outcome = await service.run(job)
    except RunFailed as failed:
        return _error(failed.status, str(failed), failed.code)
    return Response(
        completion(outcome, job.plan.model),
        media_type="application/json",
        headers={OPTIMIZER_HEADER: outcome.header()},
    )


async def _stream(service: Service, job: Job) -> AsyncIterator[bytes]:
    run = asyncio.ensure_future(service.run(job))
    try:
        yield b": keep-alive\n\n"
        while not (await asyncio.wait({run}, timeout=service.settings.keepalive_s))[0]:
            yield b": keep-alive\n\n"
        try:
            outcome = run.result()
        except RunFailed as failed:
            error = orjson.loads(error_body(failed.status, str(failed), failed.code))
            yield event(error)
            return
        for frame in chunks(outcome, job.plan.model, job.include_usage):
            yield frame
    finally:
        if not run.done():
            # The client left: no more sub-calls for an answer nobody reads.
            job.sub_calls.stop("client gone")
            run.cancel()


async def approaches(request: Request) -> Response:
    service: Service = request.app.state.service
    data = [
        {"name": a.name, "expected_calls": a.expected_calls, "summary": a.summary}
        for a in service.approaches.values()
    ]
    return Response(orjson.dumps({"object": "list", "data": data}), media_type="application/json")


async def health(request: Request) -> Response:
    service: Service = request.app.state.service
    body = {"status": "ok", "approaches": len(service.approaches)}
    return Response(orjson.dumps(body), media_type="application/json")


def _error(status: int, message: str, code: str, param: str | None = None) -> Response:
    return Response(
        error_body(status, message, code, param), status_code=status, media_type="application/json"
    )
