"""`/admin/guardrails/*`: the content-safety policies, changed at runtime (config_writes).

The global policies are a list kept by name: list them, read, put (replace in place or
add at the end) or delete one. An override applies to one model, team or key
(`/admin/guardrails/overrides/{scope}/{name}`): its policies, the global ones it
disables, and (a team's or a key's) whether that tenant's prompts are logged. Every
write is a new config version, validated as gateway.yaml is (a pattern RE2 cannot run, an
unknown entity, a duplicate name: 400 and nothing written), audited, and applied by every
replica.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from sqlalchemy import func, select
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
)
from llm_proxy.api.admin.schemas import inline_defs
from llm_proxy.config.guardrails import Override, Policy
from llm_proxy.guard import prompt_log
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.store.models import LoggedPrompt

router = APIRouter(prefix="/admin/guardrails", tags=["Admin: guardrails"])

Scope = Literal["model", "team", "key"]


@router.get("", summary="The guardrails section: policies, overrides, stream window")
async def get_guardrails(
    _: Readonly, session: Session, gateway: GatewayDep, response: Response
) -> dict[str, Any]:
    row, document = await current_document(session, gateway)
    response.headers.update(etag(row))
    section: dict[str, Any] = document["guardrails"]
    return section


@router.get("/policies", summary="The global guardrail policies, in order")
async def list_policies(
    _: Readonly, session: Session, gateway: GatewayDep, response: Response
) -> list[dict[str, Any]]:
    row, document = await current_document(session, gateway)
    response.headers.update(etag(row))
    policies: list[dict[str, Any]] = document["guardrails"]["policies"]
    return policies


@router.get("/policies/{name}", summary="One global guardrail policy")
async def get_policy(
    name: str, _: Readonly, session: Session, gateway: GatewayDep, response: Response
) -> dict[str, Any]:
    row, document = await current_document(session, gateway)
    response.headers.update(etag(row))
    policies = document["guardrails"]["policies"]
    return policies[_position(policies, name)]  # type: ignore[no-any-return]


@router.put(
    "/policies/{name}",
    summary="Set a global guardrail policy (a new config version)",
    openapi_extra=json_request_body(Policy.model_json_schema()),
)
async def put_policy(
    name: str,
    request: Request,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    policy = _named(await json_object(request), name)

    def edit(document: dict[str, Any]) -> None:
        policies = document["guardrails"]["policies"]
        found = next((i for i, p in enumerate(policies) if p.get("name") == name), None)
        if found is None:
            policies.append(policy)
        else:
            policies[found] = policy

    row = await edit_config(session, gateway, caller, edit, f"set guardrail {name}", if_match)
    policies = row.document["guardrails"]["policies"]
    return JSONResponse(policies[_position(policies, name)], headers=etag(row))


@router.delete(
    "/policies/{name}",
    status_code=204,
    summary="Remove a global guardrail policy (a new config version)",
)
async def delete_policy(
    name: str, caller: Admin, session: Session, gateway: GatewayDep, if_match: IfMatch = None
) -> Response:
    def edit(document: dict[str, Any]) -> None:
        policies = document["guardrails"]["policies"]
        del policies[_position(policies, name)]

    row = await edit_config(session, gateway, caller, edit, f"remove guardrail {name}", if_match)
    return Response(status_code=204, headers=etag(row))


# The body of an override: its scope comes from the URL.
_OVERRIDE_BODY = {
    "type": "object",
    "title": "OverrideIn",
    "properties": {
        "policies": {"type": "array", "items": inline_defs(Policy.model_json_schema())},
        "disable": {"type": "array", "items": {"type": "string"}},
        "log_prompts": {
            "type": ["boolean", "null"],
            "description": "a team's or key's opt-in (true) or opt-out (false) to prompt logging",
        },
    },
    "additionalProperties": False,
}


@router.get("/prompt-log/keys", summary="The prompt log's keys: which seals, resolves, records")
async def list_prompt_log_keys(
    _: Readonly, session: Session, gateway: GatewayDep
) -> list[dict[str, Any]]:
    """Each key of `guardrails.prompt_log.keys` in order (the first seals new records), and
    each key id that sealed records but is no longer configured (its records cannot be
    opened): its id, whether it is configured, seals, and resolves now, and how many records
    it sealed. Never a key's value or reference: a key may be removed once its count is 0."""
    query = select(LoggedPrompt.key_id, func.count()).group_by(LoggedPrompt.key_id)
    counts = {key_id: count for key_id, count in (await session.execute(query)).all()}
    config = gateway.config.guardrails.prompt_log
    unresolved = prompt_log.resolved(config).unresolved if config is not None else {}
    keys: list[dict[str, Any]] = []
    for index, key in enumerate(config.keys if config is not None else ()):
        keys.append(
            {
                "id": key.id,
                "configured": True,
                "sealing": index == 0,
                "resolves": key.id not in unresolved,
                "records": counts.pop(key.id, 0),
            }
        )
    for key_id, count in sorted(counts.items()):
        gone = {"configured": False, "sealing": False, "resolves": False, "records": count}
        keys.append({"id": key_id, **gone})
    return keys


@router.get("/overrides/{scope}/{name}", summary="The guardrail override of a model, team or key")
async def get_override(
    scope: Scope,
    name: str,
    _: Readonly,
    session: Session,
    gateway: GatewayDep,
    response: Response,
) -> dict[str, Any]:
    row, document = await current_document(session, gateway)
    response.headers.update(etag(row))
    overrides = document["guardrails"]["overrides"]
    found = _override_positions(overrides, scope, name)
    if not found:
        raise _no_override(scope, name)
    return overrides[found[0]]  # type: ignore[no-any-return]


@router.put(
    "/overrides/{scope}/{name}",
    summary="Set the guardrail override of a model, team or key (a new config version)",
    openapi_extra=json_request_body(_OVERRIDE_BODY),
)
async def put_override(
    scope: Scope,
    name: str,
    request: Request,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> JSONResponse:
    body = await json_object(request)
    unknown = set(body) - {"policies", "disable", "log_prompts"}
    if unknown:
        raise GatewayError(
            400,
            f"Unknown field {sorted(unknown)[0]!r}: "
            "an override has policies, disable and log_prompts.",
        )
    # The document spells out every field (defaults from the model); the whole document's
    # validation then checks the body's.
    override = {**Override.model_validate({scope: name}).model_dump(mode="json"), **body}

    def edit(document: dict[str, Any]) -> None:
        overrides = document["guardrails"]["overrides"]
        found = _override_positions(overrides, scope, name)
        # One override per model, team or key through the API: it replaces any the
        # file had for the same one (the first one's place is kept).
        for index in reversed(found[1:]):
            del overrides[index]
        if found:
            overrides[found[0]] = override
        else:
            overrides.append(override)

    comment = f"set guardrail override {scope} {name}"
    row = await edit_config(session, gateway, caller, edit, comment, if_match)
    overrides = row.document["guardrails"]["overrides"]
    return JSONResponse(
        overrides[_override_positions(overrides, scope, name)[0]], headers=etag(row)
    )


@router.delete(
    "/overrides/{scope}/{name}",
    status_code=204,
    summary="Remove the guardrail override of a model, team or key (a new config version)",
)
async def delete_override(
    scope: Scope,
    name: str,
    caller: Admin,
    session: Session,
    gateway: GatewayDep,
    if_match: IfMatch = None,
) -> Response:
    def edit(document: dict[str, Any]) -> None:
        overrides = document["guardrails"]["overrides"]
        found = _override_positions(overrides, scope, name)
        if not found:
            raise _no_override(scope, name)
        for index in reversed(found):
            del overrides[index]

    comment = f"remove guardrail override {scope} {name}"
    row = await edit_config(session, gateway, caller, edit, comment, if_match)
    return Response(status_code=204, headers=etag(row))


def _named(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The policy of a PUT body, named by its URL (a different `name` in it is refused)."""
    if body.get("name", name) != name:
        raise GatewayError(
            400, f"The body names the policy {body['name']!r}, the URL {name!r}.", param="name"
        )
    return {**body, "name": name}


def _position(policies: list[dict[str, Any]], name: str) -> int:
    for index, policy in enumerate(policies):
        if policy.get("name") == name:
            return index
    raise GatewayError(404, f"No guardrail policy named {name!r}.", code="not_found")


def _override_positions(overrides: list[dict[str, Any]], scope: str, name: str) -> list[int]:
    return [i for i, override in enumerate(overrides) if override.get(scope) == name]


def _no_override(scope: str, name: str) -> GatewayError:
    return GatewayError(404, f"No guardrail override for {scope} {name!r}.", code="not_found")
