"""The control API under /_sim: script faults, read what was received, reset."""

from __future__ import annotations

from typing import Any

import orjson

from llm_proxy.simulator._asgi import Request, Responder
from llm_proxy.simulator.errors import SimError
from llm_proxy.simulator.faults import FaultError, parse_fault
from llm_proxy.simulator.state import SimulatorState


async def queue_faults(state: SimulatorState, request: Request, responder: Responder) -> None:
    """`POST /_sim/faults {"fault": "500", "count": 3, "model": null, "retry_after": 1}`."""
    spec = _json_object(request.body)
    count = spec.get("count", 1)
    model = spec.get("model")
    if not isinstance(count, int) or count < 1:
        raise SimError(400, "count must be a positive integer", "count")
    if model is not None and not isinstance(model, str):
        raise SimError(400, "model must be a string or null", "model")
    try:
        fault = parse_fault(
            str(spec.get("fault", "")),
            retry_after_s=float(spec.get("retry_after", 1)),
            timeout_s=float(spec.get("timeout_s", 60)),
        )
    except (FaultError, TypeError, ValueError) as exc:
        raise SimError(400, str(exc), "fault") from None
    state.faults.push(fault, count, model)
    await responder.json(201, {"queued": state.faults.as_json()})


async def list_faults(state: SimulatorState, request: Request, responder: Responder) -> None:
    await responder.json(200, {"queued": state.faults.as_json()})


async def clear_faults(state: SimulatorState, request: Request, responder: Responder) -> None:
    state.faults.clear()
    await responder.json(200, {"queued": []})


async def recent_requests(state: SimulatorState, request: Request, responder: Responder) -> None:
    """`GET /_sim/requests?limit=N`: the last N requests received, oldest first."""
    limit = request.query_int("limit", state.config.record_limit)
    await responder.json(200, {"requests": state.recorder.recent(limit)})


async def stats(state: SimulatorState, request: Request, responder: Responder) -> None:
    await responder.json(200, state.recorder.stats())


async def reset(state: SimulatorState, request: Request, responder: Responder) -> None:
    state.reset()
    await responder.json(200, {"reset": True})


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        raise SimError(400, "body must be JSON") from None
    if not isinstance(value, dict):
        raise SimError(400, "body must be a JSON object")
    return value
