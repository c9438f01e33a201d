"""The request stage: every text of the request screened, redacted in place, or refused.

Nothing is sent anywhere from here: a block raises `Blocked` before the request goes
upstream, and a redaction rewrites the body the later stages (cache key, dispatch, spend
log's prompt hash) see.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llm_proxy.guard.bodies import request_slots
from llm_proxy.guard.hits import Blocked, Hit, blocking, tally
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan


def screen_request(
    plan: Plan,
    redactor: Redactor,
    api: str,
    body: dict[str, Any],
    prompt_tokens: Callable[[], int],
) -> list[Hit]:
    """The hits on `body` (rewritten in place); raises Blocked when a block action fires."""
    hits: list[Hit] = []
    slots = list(request_slots(api, body))
    if plan.caps:
        hits.extend(_caps(plan, sum(len(slot.get()) for slot in slots), prompt_tokens))
    for slot in slots:
        value = slot.get()
        findings = plan.screen.scan(value)
        if findings:
            hits.extend(tally("request", findings))
            slot.set(redactor.redact(value, findings))
    blocked = blocking(hits)
    if blocked is not None:
        raise Blocked(blocked, hits)
    return hits


def _caps(plan: Plan, chars: int, prompt_tokens: Callable[[], int]) -> list[Hit]:
    hits: list[Hit] = []
    tokens: int | None = None
    for caps in plan.caps:
        if caps.max_chars is not None and chars > caps.max_chars:
            hits.append(Hit("request", "caps", "chars", caps.action))
        if caps.max_tokens is not None:
            tokens = prompt_tokens() if tokens is None else tokens
            if tokens > caps.max_tokens:
                hits.append(Hit("request", "caps", "tokens", caps.action))
    return hits
