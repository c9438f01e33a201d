"""`/admin/logs/{request_id}/prompt`: an opted-in tenant's logged prompt, opened for an admin.

What was kept is already redacted (`guard.prompt_log`): opening it gives the placeholders,
never the values they replaced. Only the admin role may open one, and each opening is an
audit entry (`target: prompt_log/<request id>`). A request whose tenant had not opted in
has nothing to open (404); one sealed under a key the config no longer names cannot be
opened (409, naming the key id, never a key).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request

from llm_proxy.api.admin.access import Admin, GatewayDep, Session, actor
from llm_proxy.api.admin.crud import Output
from llm_proxy.guard import prompt_log
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.store import audit
from llm_proxy.store.keyring import KeyringError
from llm_proxy.store.request_log import find_prompt

router = APIRouter(prefix="/admin/logs", tags=["Admin: logs"])


class LoggedPrompt(Output):
    request_id: str
    logged_at: datetime
    key_id: str = Field(description="the id of the guardrails.prompt_log key that sealed it")
    request: Any = Field(description="the request as it went upstream, every string redacted")
    response: str | None = Field(
        description="the answer's text as kept, redacted (null: no answer was given)"
    )
    truncated: bool = Field(
        description="a text was cut to guardrails.prompt_log.max_chars (once redacted)"
    )


@router.get(
    "/{request_id}/prompt",
    summary="The logged prompt and answer of one request (opted-in tenants; redacted)",
)
async def get_prompt(
    request_id: str, request: Request, _: Admin, session: Session, gateway: GatewayDep
) -> LoggedPrompt:
    row = await find_prompt(session, request_id)
    if row is None:
        raise GatewayError(
            404, f"No prompt was logged for request '{request_id}'.", code="not_found"
        )
    config = gateway.config.guardrails.prompt_log
    try:
        if config is None:
            raise KeyringError("guardrails.prompt_log names no keys")
        keyring = prompt_log.resolved(config).opener(row.key_id)
        document = prompt_log.opened(keyring, request_id, row.key_id, row.sealed)
    except KeyringError as error:
        raise GatewayError(
            409, f"The prompt cannot be opened: {error}.", code="key_unavailable"
        ) from None
    who = actor(request)
    if who is not None:
        audit.record(session, who, f"prompt_log/{request_id}", None, {"opened": row.key_id})
        await session.commit()
    return LoggedPrompt(
        request_id=request_id,
        logged_at=row.logged_at,
        key_id=row.key_id,
        request=document["request"],
        response=document["response"],
        # Records sealed before the cap existed say nothing of it: they were kept whole.
        truncated=bool(document.get("truncated", False)),
    )
