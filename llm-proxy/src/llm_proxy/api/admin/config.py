"""Hot reload of backends and routing, without dropping requests in flight."""

from __future__ import annotations

from fastapi import APIRouter
from llm_proxy.api.responses import error_response
from llm_proxy.config import ConfigError
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import require_master_key
from llm_proxy.upstream.registry import RegistryError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

router = APIRouter(prefix="/admin", tags=["Admin"])


@router.post("/config/reload", summary="Re-read gateway.yaml; keep the running config if it is bad")
async def reload_config(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        require_master_key(dict(request.headers), gateway.master_key)
        if gateway.config_path is None:
            raise GatewayError(409, "This gateway was started without a config file to reload.")
        try:
            registry = await gateway.reload()
        except (ConfigError, RegistryError) as exc:
            raise GatewayError(400, "; ".join(exc.problems), code="invalid_config") from None
    except GatewayError as error:
        return error_response(error, GatewayError.openai_body)
    return JSONResponse(
        {"status": "reloaded", "backends": len(registry.deployments), "models": registry.models()}
    )
