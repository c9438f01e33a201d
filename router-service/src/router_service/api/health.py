"""`GET /health`: up, which routers loaded (and why the others did not), the auto groups."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from router_service.embedding import MODEL_NAME
from router_service.service import RouterService, describe

router = APIRouter()


@router.get("/health")
def health(request: Request) -> dict[str, Any]:
    service: RouterService = request.app.state.service
    groups = [service.table.get(name) for name in service.table.names()]
    return {
        "status": "ok",
        "routers": sorted(service.routers.loaded),
        "loading_routers": sorted(service.routers.loading),
        "unavailable_routers": service.routers.failures,
        "auto_groups": [describe(group) for group in groups if group is not None],
        "groups_awaiting_calibration": service.table.pending,
        "embedding_model": MODEL_NAME,
        "checkpoint": {"name": service.live.name, "sha256": service.live.sha256},
    }
