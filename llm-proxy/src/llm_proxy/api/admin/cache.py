"""Cache statistics and clearing: `/admin/cache` for operators, `DELETE /v1/cache` for clients.

A clear names what goes: `scope` "all" (every team's entries) or "team" (one `team_id`'s),
and optionally only entries written more than `older_than` ago (seconds, or "90s", "15m",
"2h", "7d"). A malformed request deletes nothing. Stats need any admin role, clearing from
`/admin` the admin role; on `/v1/cache` a virtual key clears its own scope's entries (its
team's, or its own when it has no team).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse

from llm_proxy.api.admin.access import Admin, GatewayDep, Readonly, Session, actor
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.cache import cache_scope
from llm_proxy.pipeline.errors import GatewayError, bad_request, invalid_input
from llm_proxy.pipeline.identify import credential, identify, identify_admin
from llm_proxy.store import audit
from llm_proxy.store.credentials import ADMIN_TOKEN_PREFIX

router = APIRouter(tags=["Admin: cache"])

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class ClearRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

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


class SemanticStats(BaseModel):
    enabled: bool
    embedder: str | None
    indexed_here: int
    guard_refusals: int


class CacheStats(BaseModel):
    """What `ResponseCache.stats` reports (documented here for the dashboard's types)."""

    enabled: bool
    backend: Literal["redis", "memory"]
    entries: int
    bytes: int
    lookups: int
    hits_exact: int
    hits_semantic: int
    misses: int
    bypassed: int
    stored: int
    hit_rate: float
    hit_rate_exact: float
    hit_rate_semantic: float
    saved_usd: float
    semantic: SemanticStats


class Cleared(BaseModel):
    entries_deleted: int


@router.get(
    "/admin/cache/stats",
    response_model=CacheStats,
    summary="Entries, bytes, hit rates (exact, semantic), saved cost",
)
async def cache_stats(_: Readonly, gateway: GatewayDep) -> JSONResponse:
    return JSONResponse(await gateway.cache.stats())


@router.delete(
    "/admin/cache",
    response_model=Cleared,
    summary="Clear the cache: everything, a team's, or older entries",
)
async def clear_admin(
    request: Request, _: Admin, session: Session, gateway: GatewayDep
) -> JSONResponse:
    clear = _parse(await request.body())
    answer = await _clear(gateway, clear.team(), clear.age_s())
    who = actor(request)
    if who is not None:
        audit.record(session, who, "cache", None, clear.model_dump(mode="json"))
        await session.commit()
    return answer


@router.delete("/v1/cache", summary="Clear cached answers by scope, team and age")
async def clear_client(request: Request, gateway: GatewayDep) -> JSONResponse:
    own_team = await _own_team(request, gateway)
    clear = _parse(await request.body())
    team = clear.team()
    if own_team is not None:
        if team not in (None, own_team) or clear.scope == "all":
            raise GatewayError(403, "This API key may clear only its own team's cached answers.")
        team = own_team
    return await _clear(gateway, team, clear.age_s())


async def _own_team(request: Request, gateway: Gateway) -> str | None:
    """The cache scope a virtual key is confined to; None for the master key and admin tokens."""
    headers = dict(request.headers)
    presented = credential(headers)
    if presented is not None and presented.startswith(ADMIN_TOKEN_PREFIX):
        caller = await identify_admin(headers, gateway.master_key, gateway.directory)
        if caller.role != "admin":
            raise GatewayError(403, "Clearing the cache needs the admin role.")
        return None
    identity = await identify(headers, gateway.master_key, gateway.directory)
    if identity.is_master:
        return None
    return cache_scope(identity)


async def _clear(gateway: Gateway, team: str | None, older_than_s: float | None) -> JSONResponse:
    return JSONResponse({"entries_deleted": await gateway.cache.clear(team, older_than_s)})


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
        raise invalid_input(exc.errors()) from None
