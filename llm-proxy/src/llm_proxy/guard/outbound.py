"""The response stage for a complete answer: screened, redacted or withheld, then restored.

Checks run on what the model wrote (placeholders and all); the request's restorable
placeholders are put back afterwards, so restored values are never redacted again. An
answer that fails a block check is withheld whole (`Blocked`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.guard import json_schema
from llm_proxy.guard.bodies import Slot, reply_slots
from llm_proxy.guard.hits import Blocked, Hit, blocking, tally
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan


@dataclass(frozen=True, slots=True)
class Screened:
    """An answer after the response stage: as the client gets it, and as it may be kept."""

    body: bytes
    kept: bytes
    hits: list[Hit]


def screen_reply(
    plan: Plan, redactor: Redactor, api: str, body: bytes, request: dict[str, Any]
) -> Screened:
    """The answer's body as the client gets it (originals restored), as it may be kept
    (redacted, nothing restored), and the hits on it."""
    if not plan and not redactor.restores:
        return Screened(body, body, [])
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return Screened(body, body, [])
    hits: list[Hit] = []
    redacted: list[tuple[Slot, str]] = []
    for slot in reply_slots(api, document):
        value = slot.get()
        findings = plan.screen.scan(value)
        if findings:
            hits.extend(tally("response", findings))
            value = redactor.redact(value, findings, restorable=False)
        if api == "chat":
            # Each choice is an answer of its own.
            hits.extend(schema_hits(plan, api, value, request))
        redacted.append((slot, value))
    if api == "responses":
        # The output text is every output message's text parts together (the SDKs'
        # `output_text`): that is what `text.format` shapes.
        hits.extend(schema_hits(plan, api, "".join(value for _, value in redacted), request))
    blocked = blocking(hits)
    if blocked is not None:
        raise Blocked(blocked, hits)
    changed = [(slot, value) for slot, value in redacted if value != slot.get()]
    for slot, value in changed:
        slot.set(value)
    kept = orjson.dumps(document) if changed else body
    restored = [(slot, redactor.restore(value)) for slot, value in redacted]
    restored = [(slot, value) for slot, value in restored if value != slot.get()]
    for slot, value in restored:
        slot.set(value)
    return Screened(orjson.dumps(document) if restored else kept, kept, hits)


def kept_text(api: str, body: bytes) -> str:
    """An answer's texts together: what a classifier on answers judges, and what a prompt
    log keeps (of the answer as kept: redacted by the policies, nothing restored)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    return "\n\n".join(text for slot in reply_slots(api, document) if (text := slot.get()))


def schema_hits(plan: Plan, api: str, content: str, request: dict[str, Any]) -> list[Hit]:
    """A hit when the content is not the JSON the request asked for (chat's
    `response_format`, the Responses API's `text.format`)."""
    if plan.json_schema is None or not content:
        return []
    schema = json_schema.asked_schema(api, request)
    if schema is None:
        return []
    if json_schema.violation(content, schema) is None:
        return []
    return [Hit("response", "json_schema", "invalid", plan.json_schema.action)]
