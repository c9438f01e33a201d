"""Cache statistics and clearing: `/admin/cache` for operators, `DELETE /v1/cache` for clients.

A clear names what goes: `scope` "all" (every team's entries) or "team" (one `team_id`'s),
and optionally only entries written more than `older_than` ago (seconds, or "90s", "15m",
"2h", "7d"). A malformed request deletes nothing.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter
from llm_proxy.api.responses import error_response
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.pipeline.identify import require_master_key
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

router = APIRouter(tags=["Admin: cache"])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ClearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["all", "team"] | None = Field(
        None, description='"all", or "team" with team_id; default: "team" if team_id is set'
    )
    team_id: Annotated[str, Field(min_length=1)] | None = None
    older_than: float | str | None = Field(
        None, description='only entries written longer ago: seconds, or "15m", "2h", "7d"'
    )

    @field_validator("older_than")
    @classmethod
    def _duration(cls, value: float | str | None) -> float | str | None:
        if isinstance(value, str):
            match = _DURATION.match(value)
            if match is None:
                raise ValueError('must be seconds or a duration like "90s", "15m", "2h", "7d"')
            return float(match.group(1)) * _SECONDS[match.group(2)]
        if value is not None and value < 0:
            raise ValueError("must not be negative")
        return value

    def team(self) -> str | None:
        scope = self.scope or ("team" if self.team_id else "all")
        if scope == "team" and not self.team_id:
            raise bad_request('scope "team" needs a team_id.', param="team_id")
        if scope == "all" and self.team_id:
            raise bad_request('scope "all" clears every team; leave team_id out.', param="scope")
        return self.team_id

    def age_s(self) -> float | None:
        return None if self.older_than is None else float(self.older_than)


@router.get("/admin/cache/stats", summary="Entries, bytes, hit rates (exact, semantic), saved cost")
async def cache_stats(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        require_master_key(dict(request.headers), gateway.master_key)
    except GatewayError as error:
        return error_response(error, GatewayError.openai_body)
    return JSONResponse(await gateway.cache.stats())


@router.delete("/admin/cache", summary="Clear the cache: everything, a team's, or older entries")
async def clear_admin(request: Request) -> Response:
    return await _clear(request)


@router.delete("/v1/cache", summary="Clear cached answers by scope, team and age")
async def clear_client(request: Request) -> Response:
    return await _clear(request)


async def _clear(request: Request) -> Response:
    gateway: Gateway = request.app.state.gateway
    try:
        require_master_key(dict(request.headers), gateway.master_key)
        clear = _parse(await request.body())
        deleted = await gateway.cache.clear(clear.team(), clear.age_s())
    except GatewayError as error:
        return error_response(error, GatewayError.openai_body)
    return JSONResponse({"entries_deleted": deleted})


def _parse(raw: bytes) -> ClearRequest:
    try:
        data: Any = orjson.loads(raw) if raw.strip() else {}
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    try:
        return ClearRequest.model_validate(data)
    except ValidationError as exc:
        problem = exc.errors()[0]
        field = ".".join(str(part) for part in problem["loc"]) or None
        raise bad_request(f"Invalid '{field}': {problem['msg']}.", param=field) from None
