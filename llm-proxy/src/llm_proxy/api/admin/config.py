"""`/admin/config`: the whole managed config, its versions, rollback, and reload.

With `config.mode: database` every change is a new immutable version (number, author,
time, comment, diff) that every replica applies within a second. `GET` answers the
newest with an `ETag` of its number; `PUT` with `If-Match: "<number>"` refuses (412) if
another change came first. With `config.mode: file`, reads show the file's config and
writes answer 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_proxy.api.admin.access import Admin, GatewayDep, Readonly, Session, actor
from llm_proxy.api.admin.config_writes import (
    check_if_match,
    checked_document,
    current_document,
    etag,
    require_database_mode,
    write_config,
)
from llm_proxy.api.admin.crud import Input, Output
from llm_proxy.config import ConfigError
from llm_proxy.config.diff import diff_documents
from llm_proxy.config.document import document_of
from llm_proxy.config.models import ManagedConfig
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.store import audit, config_versions
from llm_proxy.store.models import ConfigVersion
from llm_proxy.upstream.registry import RegistryError

router = APIRouter(prefix="/admin/config", tags=["Admin: config"])

IfMatch = Annotated[
    str | None,
    Header(description='the version you read, as GET gave it in ETag (e.g. "5"): 412 if stale'),
]


class Change(Output):
    path: str = Field(description="dotted path; backends are named, e.g. backends.mini.weight")
    before: Any
    after: Any


class VersionSummary(Output):
    version: int
    author: str = Field(description='admin token id, "master", or "bootstrap" (the file)')
    created_at: datetime
    comment: str
    diff: list[Change]
    rolled_back_to: int | None


class VersionOut(VersionSummary):
    document: ManagedConfig


class VersionList(Output):
    object: str = "list"
    data: list[VersionSummary]
    has_more: bool
    next_after: int | None = Field(description="pass as `after` for the next (older) page")


class ConfigOut(Output):
    mode: Literal["file", "database"]
    version: int | None = Field(description="the newest version; null in file mode")
    applied_version: int | None = Field(description="the version this replica runs now")
    author: str | None
    created_at: datetime | None
    comment: str | None
    document: ManagedConfig


class ConfigPut(Input):
    document: dict[str, Any] = Field(
        description="the whole managed config (backends, routing, limits, cache, "
        "observability), in the shape GET answers and gateway.yaml uses"
    )
    comment: Annotated[str, Field(max_length=1000)] = ""


class Preview(Output):
    version: int | None = Field(description="the newest version, which the diff starts from")
    diff: list[Change] = Field(description="what a PUT of this document would change")


class Rollback(Input):
    version: Annotated[int, Field(ge=1)]
    comment: Annotated[str, Field(max_length=1000)] = ""


@router.get("", summary="The managed config: the newest version (ETag) or the file's")
async def get_config(
    _: Readonly, session: Session, gateway: GatewayDep, response: Response
) -> ConfigOut:
    row, document = await current_document(session, gateway)
    return _config_answer(gateway, row, document, response)


@router.put("", summary="Replace the whole managed config: a new version, applied everywhere")
async def put_config(
    body: ConfigPut,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
) -> ConfigOut:
    require_database_mode(gateway)
    current = await config_versions.latest(session)
    check_if_match(if_match, current)
    row = await write_config(session, gateway, caller, current, body.document, body.comment)
    return _config_answer(gateway, row, row.document, response)


@router.post("/preview", summary="What a PUT of this document would change; nothing is written")
async def preview_config(
    body: ConfigPut, _: Admin, session: Session, gateway: GatewayDep, response: Response
) -> Preview:
    # Validated exactly as a PUT is, so a change shown here is one a PUT accepts.
    row, current = await current_document(session, gateway)
    proposed = await checked_document(gateway, body.document)
    response.headers.update(etag(row))
    diff = [Change.model_validate(change) for change in diff_documents(current, proposed)]
    return Preview(version=row.version if row else None, diff=diff)


@router.get("/versions", summary="Config versions, newest first (without their documents)")
async def list_versions(
    _: Readonly,
    session: Session,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="list versions older than this")
    ] = None,
) -> VersionList:
    rows, more = await config_versions.newest_first(session, limit, after)
    data = [VersionSummary.model_validate(row) for row in rows]
    return VersionList(data=data, has_more=more, next_after=rows[-1].version if more else None)


@router.get("/versions/{version}", summary="One config version with its document")
async def get_version(
    version: Annotated[int, Path(ge=1, le=2**31 - 1)], _: Readonly, session: Session
) -> VersionOut:
    return VersionOut.model_validate(await _version_or_404(session, version))


@router.post("/rollback", summary="A new version with an earlier version's document")
async def rollback(
    body: Rollback,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
) -> ConfigOut:
    require_database_mode(gateway)
    current = await config_versions.latest(session)
    check_if_match(if_match, current)
    target = await _version_or_404(session, body.version)
    comment = body.comment or f"rollback to version {body.version}"
    row = await write_config(
        session, gateway, caller, current, dict(target.document), comment, body.version
    )
    return _config_answer(gateway, row, row.document, response)


@router.post("/reload", summary="Re-read the config (file mode: gateway.yaml; else the newest)")
async def reload_config(
    request: Request, _: Admin, session: Session, gateway: GatewayDep
) -> JSONResponse:
    if gateway.follower is None and gateway.config_path is None:
        raise GatewayError(409, "This gateway was started without a config file to reload.")
    before = document_of(gateway.config)
    try:
        registry = await gateway.reload()
    except (ConfigError, RegistryError) as exc:
        raise GatewayError(400, "\n".join(exc.problems), code="invalid_config") from None
    who = actor(request)
    if who is not None:
        after = document_of(gateway.config)
        audit.record(
            session, who, "config/reload", _changed(before, after), _changed(after, before)
        )
        await session.commit()
    return JSONResponse(
        {"status": "reloaded", "backends": len(registry.deployments), "models": registry.models()}
    )


async def _version_or_404(session: Session, version: int) -> ConfigVersion:
    row = await config_versions.get(session, version)
    if row is None:
        raise GatewayError(404, f"No config version {version}.", code="not_found")
    return row


def _changed(mine: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in mine.items() if other.get(name) != value}


def _config_answer(
    gateway: GatewayDep, row: ConfigVersion | None, document: dict[str, Any], response: Response
) -> ConfigOut:
    response.headers.update(etag(row))
    return ConfigOut(
        mode="database" if gateway.follower is not None else "file",
        version=row.version if row else None,
        applied_version=gateway.config_version,
        author=row.author if row else None,
        created_at=row.created_at if row else None,
        comment=row.comment if row else None,
        document=ManagedConfig.model_validate(document),
    )
