"""The classifier check: a request's or an answer's text judged by a configured model,
through this gateway.

The call is a chat completion the gateway makes itself (`Ask`, the request path's own
entry for such calls: as the master key, limited, routed, dispatched and logged like any
request); its spend record has the tag `guard-classifier` and, as its correlation id, the id
of the request it judged. It carries the pseudo-header `:guard-classifier` with this
process's secret (only on its context: no client can send a header whose name has a colon,
and the API layer never copies one from a request), and a request that carries it is not
guarded at all (its text is the judged request's, already screened), so
the classifier's own call never starts another. The model answers JSON
(`{"flagged": true, "categories": ["violence"]}`) or, as Llama Guard does, `safe` / `unsafe`
with its categories on the next line. No answer within the deadline, an error, or an answer
that is neither is a failure: `fail: open` lets the request pass (an alert hit names why),
`fail: closed` refuses it (a block hit).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.config.guardrails import ClassifierCheck
from llm_proxy.guard.hits import Blocked, Hit

HEADER = ":guard-classifier"
TAG = "guard-classifier"
_NOT_A_NAME = re.compile(r"[^a-z0-9_]+")
# A chat completion made by the gateway itself: its body, the judged request's id and the
# headers it carries in, to the answer's body; any failure raises.
Ask = Callable[[dict[str, Any], str, dict[str, str]], Awaitable[bytes]]


class Unjudged(Exception):
    """No verdict: `reason` is timeout, error or unreadable."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Judgement:
    flagged: bool
    category: str = ""


class Classifier:
    """Sends texts to classifier models through the gateway itself (`asks_through`)."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(24)
        self._ask: Ask | None = None

    def asks_through(self, ask: Ask) -> None:
        """How the calls are made (the gateway's request path, once it is built)."""
        self._ask = ask

    def is_own(self, headers: Mapping[str, str]) -> bool:
        """The request is a classifier call this process made."""
        presented = headers.get(HEADER)
        return presented is not None and hmac.compare_digest(presented, self.token)

    async def screen(
        self, check: ClassifierCheck, text: str, request_id: str, stage: str = "request"
    ) -> list[Hit]:
        """The hits of one classifier check on `text` (of the request or the response
        `stage`); raises Blocked when one blocks."""
        try:
            judgement = await self.judge(check, text, request_id)
        except Unjudged as failure:
            action = "block" if check.fail == "closed" else "alert"
            hit = Hit(stage, "classifier", failure.reason, action)
        else:
            if not judgement.flagged:
                return []
            hit = Hit(stage, "classifier", judgement.category, check.action)
        if hit.action == "block":
            raise Blocked(hit, [hit])
        return [hit]

    async def judge(self, check: ClassifierCheck, text: str, request_id: str) -> Judgement:
        ask = self._ask
        if ask is None:
            raise Unjudged("error")
        body = {
            "model": check.model,
            "messages": [
                {"role": "system", "content": check.instructions},
                {"role": "user", "content": text[-check.max_chars :]},
            ],
        }
        try:
            async with asyncio.timeout(check.deadline_ms / 1000):
                answer = await ask(body, request_id, {HEADER: self.token})
        except TimeoutError:
            raise Unjudged("timeout") from None
        except Exception:
            # Refused, failed upstream, whatever it was: no verdict, and `fail` decides.
            raise Unjudged("error") from None
        return judgement_of(_content(answer))


def _content(body: bytes) -> str:
    try:
        content = orjson.loads(body)["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError):
        raise Unjudged("unreadable") from None
    if not isinstance(content, str):
        raise Unjudged("unreadable")
    return content


def judgement_of(answer: str) -> Judgement:
    """A classifier's answer read: JSON with `flagged`, or `safe` / `unsafe` + categories."""
    text = answer.strip()
    if text.startswith("{"):
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise Unjudged("unreadable") from None
        flagged = data.get("flagged") if isinstance(data, dict) else None
        if not isinstance(flagged, bool):
            raise Unjudged("unreadable")
        categories = data.get("categories")
        listed = categories if isinstance(categories, list) else []
        named = [c for c in listed if isinstance(c, str)]
        return Judgement(flagged, _entity(named[0] if named else "") if flagged else "")
    first, _, rest = text.partition("\n")
    word = first.strip().lower()
    if word == "safe":
        return Judgement(False)
    if word == "unsafe":
        return Judgement(True, _entity(rest.strip().split(",")[0]))
    raise Unjudged("unreadable")


def _entity(category: str) -> str:
    """A model's category as a hit's entity: a short lower-case name (it reaches headers)."""
    name = _NOT_A_NAME.sub("_", category.strip().lower()).strip("_")[:40]
    return name or "flagged"
