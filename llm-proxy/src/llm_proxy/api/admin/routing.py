"""`/admin/routing/*` and `PUT /admin/limits/rules`: the parts of the routing and limits
sections people change most, each write a new config version (config_writes).

`groups` (a model's balancing strategy), `auto-groups` (model "auto" and its kin) and
`fallbacks` (a model's fallback chain) are maps by name: list them, read, put or delete
one. The rate-limit rules are a list, replaced whole.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import TypeAdapter
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from llm_proxy.api.admin.access import Admin, GatewayDep, Readonly, Session
from llm_proxy.api.admin.config_writes import (
    IfMatch,
    current_document,
    edit_config,
    etag,
    json_object,
    json_request_body,
    json_value,
)
from llm_proxy.config.models import AutoGroup, Group, RateRule
from llm_proxy.pipeline.errors import GatewayError

router = APIRouter(tags=["Admin: routing"])

# URL name -> (the section's key under `routing`, the schema of one entry).
_MAPS: dict[str, tuple[str, dict[str, Any]]] = {
    "groups": ("groups", Group.model_json_schema()),
    "auto-groups": ("auto_groups", AutoGroup.model_json_schema()),
    "fallbacks": ("fallbacks", TypeAdapter(list[str]).json_schema()),
}


def _map_routes(url: str, section: str, schema: dict[str, Any]) -> None:
    noun = url.removesuffix("s").replace("-", " ")

    @router.get(f"/admin/routing/{url}", summary=f"Every routing {noun}, by name")
    async def list_entries(
        _: Readonly, session: Session, gateway: GatewayDep, response: Response
    ) -> dict[str, Any]:
        row, document = await current_document(session, gateway)
        response.headers.update(etag(row))
        entries: dict[str, Any] = document["routing"][section]
        return entries

    @router.get(f"/admin/routing/{url}/{{name}}", summary=f"One routing {noun}")
    async def get_entry(
        name: str, _: Readonly, session: Session, gateway: GatewayDep, response: Response
    ) -> Any:
        row, document = await current_document(session, gateway)
        response.headers.update(etag(row))
        return _entry(document, section, name, noun)

    @router.put(
        f"/admin/routing/{url}/{{name}}",
        summary=f"Set a routing {noun} (a new config version)",
        openapi_extra=json_request_body(schema),
    )
    async def put_entry(
        name: str,
        request: Request,
        caller: Admin,
        session: Session,
        gateway: GatewayDep,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        value: Any = await _value(request, schema)

        def edit(document: dict[str, Any]) -> None:
            document["routing"][section][name] = value

        row = await edit_config(session, gateway, caller, edit, f"set {noun} {name}", if_match)
        return JSONResponse(row.document["routing"][section][name], headers=etag(row))

    @router.delete(
        f"/admin/routing/{url}/{{name}}",
        status_code=204,
        summary=f"Remove a routing {noun} (a new config version)",
    )
    async def delete_entry(
        name: str, caller: Admin, session: Session, gateway: GatewayDep, if_match: IfMatch = None
    ) -> Response:
        def edit(document: dict[str, Any]) -> None:
            _entry(document, section, name, noun)
            del document["routing"][section][name]

        row = await edit_config(session, gateway, caller, edit, f"remove {noun} {name}", if_match)
        return Response(status_code=204, headers=etag(row))


for _url, (_section, _schema) in _MAPS.items():
    _map_routes(_url, _section, _schema)


# The body's schema written out rather than RulesIn.model_json_schema(): that one refers to
# RateRule under its own `$defs`, which nothing in the OpenAPI document resolves.
_RULES_BODY = {
    "type": "object",
    "title": "RulesIn",
    "required": ["rules"],
    "properties": {"rules": {"type": "array", "items": RateRule.model_json_schema()}},
}


@router.put(
    "/admin/limits/rules",
    tags=["Admin: limits"],
    summary="Replace the rate-limit rules (a new config version)",
    openapi_extra=json_request_body(_RULES_BODY),
)
async def put_rules(
    request: Request,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    body = await json_object(request)
    if set(body) != {"rules"}:
        raise GatewayError(400, 'The body must be {"rules": [...]}.', param="rules")

    def edit(document: dict[str, Any]) -> None:
        document["limits"]["rules"] = body["rules"]

    row = await edit_config(session, gateway, caller, edit, "replace limit rules", if_match)
    return JSONResponse({"rules": row.document["limits"]["rules"]}, headers=etag(row))


async def _value(request: Request, schema: dict[str, Any]) -> Any:
    """A map entry's body: an object, or (fallbacks) a list; checked by the whole document."""
    if schema.get("type") == "array":
        raw = await json_value(request)
        if not isinstance(raw, list):
            raise GatewayError(400, "The body must be a JSON list of model names.")
        return raw
    return await json_object(request)


def _entry(document: dict[str, Any], section: str, name: str, noun: str) -> Any:
    entries = document["routing"][section]
    if name not in entries:
        raise GatewayError(404, f"No routing {noun} named {name!r}.", code="not_found")
    return entries[name]
