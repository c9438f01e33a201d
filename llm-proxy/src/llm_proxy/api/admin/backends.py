"""`/admin/backends`: the deployments of the managed config, one by one, by name.

Each write is a new config version (config_writes), validated as the file is. A body is
a backend as gateway.yaml writes it, plus an optional write-only `api_key`: the key is
sealed (AES-GCM, store.vault) into the database and the backend refers to it as
`api_key_ref: secret:cred_…`. Answers show only its last four characters. A key is
refused when the gateway has no secret key (`config.secret_key_ref`). Sending a new
`api_key` rotates it: a new sealed credential and a new version, which a rollback undoes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response

from llm_proxy.api.admin.access import Admin, GatewayDep, Readonly, Session
from llm_proxy.api.admin.config_writes import (
    current_document,
    edit_config,
    etag,
    json_object,
    require_database_mode,
)
from llm_proxy.api.admin.schemas import inline_defs
from llm_proxy.config.models import Backend
from llm_proxy.gateway import Gateway
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.store.models import ConfigVersion
from llm_proxy.store.provider_credentials import (
    credential_ids,
    described,
    reference,
    store_credential,
)

router = APIRouter(prefix="/admin/backends", tags=["Admin: backends"])

IfMatch = Annotated[str | None, Header(description='the config version you read, e.g. "5"')]


class BackendOut(Backend):
    api_key_last4: str | None = Field(
        None, description="the last four characters of a key stored through this API"
    )


def _body_schema() -> dict[str, Any]:
    schema = inline_defs(Backend.model_json_schema())
    schema["title"] = "BackendIn"
    schema["properties"]["api_key"] = {
        "type": "string",
        "writeOnly": True,
        "description": "the provider key: stored encrypted, never shown again",
    }
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


@router.get("", summary="Every backend of the managed config")
async def list_backends(
    _: Readonly, session: Session, gateway: GatewayDep, response: Response
) -> list[BackendOut]:
    row, document = await current_document(session, gateway)
    response.headers.update(etag(row))
    return await _shown(session, document["backends"])


@router.get("/{name}", summary="One backend")
async def get_backend(
    name: str, _: Readonly, session: Session, gateway: GatewayDep, response: Response
) -> BackendOut:
    row, document = await current_document(session, gateway)
    response.headers.update(etag(row))
    return (await _shown(session, [_find(document, name)[1]]))[0]


@router.post(
    "",
    status_code=201,
    summary="Add a backend (a new config version)",
    openapi_extra=_body_schema(),
)
async def add_backend(
    request: Request,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
) -> BackendOut:
    body = await json_object(request)
    fresh = _take_key(session, gateway, body)
    name = body.get("name")

    def edit(document: dict[str, Any]) -> None:
        if any(b.get("name") == name for b in document["backends"]):
            raise GatewayError(409, f"A backend named {name!r} exists.", code="conflict")
        document["backends"].append(body)

    row = await edit_config(session, gateway, caller, edit, f"add backend {name}", if_match, fresh)
    return await _answer(session, row, str(name), response)


@router.put(
    "/{name}",
    summary="Replace a backend (a new config version); its stored key stays unless replaced",
    openapi_extra=_body_schema(),
)
async def replace_backend(
    name: str,
    request: Request,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
) -> BackendOut:
    body = {"name": name, **await json_object(request)}
    if body["name"] != name:
        raise bad_request("The body's 'name' must be the name in the URL.", param="name")
    fresh = _take_key(session, gateway, body)

    def edit(document: dict[str, Any]) -> None:
        index, old = _find(document, name)
        if "api_key_ref" not in body and old.get("api_key_ref"):
            body["api_key_ref"] = old["api_key_ref"]
        document["backends"][index] = body

    row = await edit_config(
        session, gateway, caller, edit, f"replace backend {name}", if_match, fresh
    )
    return await _answer(session, row, name, response)


@router.patch(
    "/{name}",
    summary="Change some fields of a backend (null: back to the default)",
    openapi_extra=_body_schema(),
)
async def change_backend(
    name: str,
    request: Request,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    response: Response,
    if_match: IfMatch = None,
) -> BackendOut:
    body = await json_object(request)
    if body.get("name", name) != name:
        raise bad_request("A backend's name cannot change; add a new one.", param="name")
    fresh = _take_key(session, gateway, body)

    def edit(document: dict[str, Any]) -> None:
        index, old = _find(document, name)
        merged = {**old, **body}
        document["backends"][index] = {k: v for k, v in merged.items() if v is not None}

    fields = ", ".join(sorted(body)) or "nothing"
    comment = f"change backend {name}: {fields}"
    row = await edit_config(session, gateway, caller, edit, comment, if_match, fresh)
    return await _answer(session, row, name, response)


@router.delete("/{name}", status_code=204, summary="Remove a backend (a new config version)")
async def remove_backend(
    name: str, caller: Admin, session: Session, gateway: GatewayDep, if_match: IfMatch = None
) -> Response:
    def edit(document: dict[str, Any]) -> None:
        index, _ = _find(document, name)
        del document["backends"][index]

    row = await edit_config(session, gateway, caller, edit, f"remove backend {name}", if_match)
    return Response(status_code=204, headers=etag(row))


def _take_key(session: AsyncSession, gateway: Gateway, body: dict[str, Any]) -> dict[str, str]:
    """Seal a given `api_key` and put its reference in the body instead; id -> key."""
    if "api_key" not in body:
        return {}
    require_database_mode(gateway)
    key = body.pop("api_key")
    if not isinstance(key, str) or not key.strip():
        raise bad_request("'api_key' must be a non-empty string.", param="api_key")
    if "api_key_ref" in body:
        raise bad_request("Give 'api_key' or 'api_key_ref', not both.", param="api_key")
    vault = gateway.vault()
    if vault is None:
        raise GatewayError(
            400,
            "The gateway has no secret key to encrypt provider keys with "
            f"({gateway.file_config.config.secret_key_ref} is not set), so it stores none. "
            "Set it, or give 'api_key_ref': 'env:NAME' instead.",
            param="api_key",
            code="secret_key_missing",
        )
    row = store_credential(session, vault, key.strip())
    body["api_key_ref"] = reference(row)
    return {row.id: key.strip()}


def _find(document: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    for index, backend in enumerate(document["backends"]):
        if backend.get("name") == name:
            return index, backend
    raise GatewayError(404, f"No backend named {name!r}.", code="not_found")


async def _shown(session: AsyncSession, backends: list[dict[str, Any]]) -> list[BackendOut]:
    stored = await described(session, credential_ids(b.get("api_key_ref") for b in backends))
    shown = []
    for backend in backends:
        ids = credential_ids([backend.get("api_key_ref")])
        last4 = stored[next(iter(ids))].last4 if ids and next(iter(ids)) in stored else None
        shown.append(BackendOut.model_validate({**backend, "api_key_last4": last4}))
    return shown


async def _answer(
    session: AsyncSession, row: ConfigVersion, name: str, response: Response
) -> BackendOut:
    response.headers.update(etag(row))
    return (await _shown(session, [_find(row.document, name)[1]]))[0]
