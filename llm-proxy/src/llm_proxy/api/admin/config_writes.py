"""Changing the managed config through the API: one path for every endpoint that does.

A change is a whole new document. It is validated exactly as a file is (one line per
problem, 400) and its backends are built once (every key reference must resolve) before
anything is written; then it is committed as the next version (412 if `If-Match` names
an older one, or another writer took the number first), applied here, and announced to
every replica. In `config.mode: file` the file is the truth: writes answer 409.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Annotated, Any

import orjson
from fastapi import Header
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from llm_proxy.api.admin.schemas import inline_defs
from llm_proxy.config import ConfigError
from llm_proxy.config.document import document_of, with_document
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.store import config_versions
from llm_proxy.store.grants import AdminGrant
from llm_proxy.store.models import ConfigVersion
from llm_proxy.upstream.registry import RegistryError

Edit = Callable[[dict[str, Any]], None]
IfMatch = Annotated[str | None, Header(description='the config version you read, e.g. "5"')]


def json_request_body(schema: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` for a route that reads its JSON body itself (and the whole document
    validates it): the body's schema, its `$defs` inlined."""
    inlined = inline_defs(schema)
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined}}}}


def require_database_mode(gateway: Gateway) -> None:
    if gateway.follower is None:
        raise GatewayError(
            409,
            "This gateway's config.mode is 'file': gateway.yaml is the source of truth. "
            "Change the file and reload it (POST /admin/config/reload), or set "
            "config.mode: database to manage the config through this API.",
            code="config_file_mode",
        )


async def current_document(
    session: AsyncSession, gateway: Gateway
) -> tuple[ConfigVersion | None, dict[str, Any]]:
    """The newest version and its document; in file mode (no versions), the running config."""
    if gateway.follower is None:
        return None, document_of(gateway.config)
    row = await config_versions.latest(session)
    if row is None:
        return None, document_of(gateway.config)
    return row, copy.deepcopy(row.document)


async def edit_config(
    session: AsyncSession,
    gateway: Gateway,
    caller: AdminGrant,
    edit: Edit,
    comment: str,
    if_match: str | None,
    fresh: Mapping[str, str] | None = None,
) -> ConfigVersion:
    """Apply `edit` to a copy of the newest document and write the result as a version.

    `fresh`: provider keys stored in this same transaction (id -> key), not yet readable
    by the check that every backend's key resolves.
    """
    require_database_mode(gateway)
    current, document = await current_document(session, gateway)
    check_if_match(if_match, current)
    edit(document)
    return await write_config(session, gateway, caller, current, document, comment, fresh=fresh)


async def write_config(
    session: AsyncSession,
    gateway: Gateway,
    caller: AdminGrant,
    current: ConfigVersion | None,
    document: dict[str, Any],
    comment: str,
    rolled_back_to: int | None = None,
    fresh: Mapping[str, str] | None = None,
) -> ConfigVersion:
    require_database_mode(gateway)
    assert gateway.follower is not None
    normal = await checked_document(gateway, document, fresh)
    if current is not None and normal == current.document and rolled_back_to is None:
        return current  # nothing changed: no version, nothing to apply or audit
    row = config_versions.append(session, current, normal, caller.token_id, comment, rolled_back_to)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise _stale() from None
    await gateway.follower.catch_up()
    await gateway.follower.announce()
    return row


async def checked_document(
    gateway: Gateway, document: dict[str, Any], fresh: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The document in its normal form, validated as a file is (400 with every problem)."""
    try:
        config = with_document(gateway.file_config, document, "config")
        await gateway.check(config, fresh or {})
    except (ConfigError, RegistryError) as exc:
        raise GatewayError(400, "\n".join(exc.problems), code="invalid_config") from None
    return document_of(config)


async def json_value(request: Request) -> Any:
    """The request body's JSON, or a 400 saying what is wrong with it."""
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.") from None


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 saying what is wrong with it."""
    data = await json_value(request)
    if not isinstance(data, dict):
        raise bad_request("The request body must be a JSON object.")
    return data


def check_if_match(if_match: str | None, current: ConfigVersion | None) -> None:
    """`If-Match: "5"` (or `5`, `W/"5"`): refuse unless version 5 is still the newest."""
    if if_match is None or if_match.strip() == "*":
        return
    text = if_match.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise GatewayError(400, 'If-Match must be a config version number, e.g. "5".')
    if current is None or int(text) != current.version:
        raise _stale(current)


def etag(row: ConfigVersion | None) -> dict[str, str]:
    return {"etag": f'"{row.version}"'} if row is not None else {}


def _stale(current: ConfigVersion | None = None) -> GatewayError:
    newest = f" (the newest is version {current.version})" if current is not None else ""
    return GatewayError(
        412,
        f"The config changed since the version you read{newest}; "
        "read it again and re-apply your change.",
        code="stale_config_version",
    )
