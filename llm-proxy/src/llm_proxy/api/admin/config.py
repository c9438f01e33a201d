"""Hot reload of backends and routing, without dropping requests in flight (admin role)."""

from __future__ import annotations

from fastapi import APIRouter
from llm_proxy.api.admin.access import Admin, GatewayDep
from llm_proxy.config import ConfigError
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.upstream.registry import RegistryError
from starlette.responses import JSONResponse

router = APIRouter(prefix="/admin", tags=["Admin"])


@router.post("/config/reload", summary="Re-read gateway.yaml; keep the running config if it is bad")
async def reload_config(_: Admin, gateway: GatewayDep) -> JSONResponse:
    if gateway.config_path is None:
        raise GatewayError(409, "This gateway was started without a config file to reload.")
    try:
        registry = await gateway.reload()
    except (ConfigError, RegistryError) as exc:
        raise GatewayError(400, "; ".join(exc.problems), code="invalid_config") from None
    return JSONResponse(
        {"status": "reloaded", "backends": len(registry.deployments), "models": registry.models()}
    )
