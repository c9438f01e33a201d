"""The response stage for a complete answer: screened, redacted or withheld, then restored.

Checks run on what the model wrote (placeholders and all); the request's restorable
placeholders are put back afterwards, so restored values are never redacted again. An
answer that fails a block check is withheld whole (`Blocked`).
"""

from __future__ import annotations

from typing import Any

import orjson

from llm_proxy.guard import json_schema
from llm_proxy.guard.bodies import reply_slots
from llm_proxy.guard.hits import Blocked, Hit, blocking, tally
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan


def screen_reply(
    plan: Plan, redactor: Redactor, api: str, body: bytes, request: dict[str, Any]
) -> tuple[bytes, list[Hit]]:
    """The answer's body as the client gets it, and the hits on it."""
    if not plan and not redactor.restores:
        return body, []
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body, []
    hits: list[Hit] = []
    changed = False
    for slot in reply_slots(api, document):
        value = slot.get()
        findings = plan.screen.scan(value)
        if findings:
            hits.extend(tally("response", findings))
            value = redactor.redact(value, findings, restorable=False)
        if plan.json_schema is not None and api == "chat":
            hits.extend(schema_hits(plan, value, request))
        restored = redactor.restore(value)
        if restored != slot.get():
            slot.set(restored)
            changed = True
    blocked = blocking(hits)
    if blocked is not None:
        raise Blocked(blocked, hits)
    return (orjson.dumps(document) if changed else body), hits


def schema_hits(plan: Plan, content: str, request: dict[str, Any]) -> list[Hit]:
    """A hit when the content is not what the request's response_format asked for."""
    schema = json_schema.asked_schema(request)
    if plan.json_schema is None or schema is None or not content:
        return []
    if json_schema.violation(content, schema) is None:
        return []
    return [Hit("response", "json_schema", "invalid", plan.json_schema.action)]
