"""The guard stages: the request screened before it goes anywhere, the answer before it leaves.

Which policies apply is decided by the model asked for and the caller's team and key. The
compiled policies follow the config: rebuilt when a reload brings a new guardrails section.
A block becomes a 400 `content_policy_violation` in the endpoint's error shape (nothing is
sent upstream), or, once a stream is under way, its closing error event. A classifier check
(`guard.classifier`) runs after the others, on the request as they left it; the
classifier's own calls are not guarded.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from llm_proxy.config.guardrails import Guardrails
from llm_proxy.guard.bodies import request_slots
from llm_proxy.guard.classifier import TAG, Ask, Classifier
from llm_proxy.guard.hits import Blocked, header_value, merge
from llm_proxy.guard.inbound import screen_request
from llm_proxy.guard.outbound import screen_reply
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan, Policies
from llm_proxy.guard.stream import guarded
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import MASTER
from llm_proxy.upstream.transports.base import Reply, Stream
from llm_proxy.webhooks import Webhooks

log = logging.getLogger("llm_proxy.guard")


class GuardStage:
    def __init__(
        self, config: Callable[[], Guardrails], classifier: Classifier, webhooks: Webhooks
    ) -> None:
        self._config = config
        self._classifier = classifier
        self._webhooks = webhooks
        self._source: Guardrails | None = None
        self._policies = Policies(Guardrails())

    def _plan(self, ctx: RequestContext, stage: str) -> Plan | None:
        config = self._config()
        if config is not self._source:
            self._policies, self._source = Policies(config), config
        if not self._policies.enabled:
            return None
        identity = ctx.identity
        return self._policies.plan(
            "request" if stage == "request" else "response",
            ctx.requested_model,
            identity.team_id,
            identity.key_id,
        )

    def inbound(self, ctx: RequestContext) -> None:
        plan = self._plan(ctx, "request")
        if plan is None or self._classifier.is_own(ctx.headers):
            return
        ctx.redactor = Redactor()
        body = ctx.body

        def prompt_tokens() -> int:
            # The request's one count (made before any redaction when limits ran).
            return ctx.prompt_tokens

        try:
            hits = screen_request(plan, ctx.redactor, ctx.api, body, prompt_tokens)
        except Blocked as blocked:
            ctx.guard_hits.extend(blocked.hits)
            raise _refused(blocked) from None
        ctx.guard_hits.extend(hits)

    async def classify(self, ctx: RequestContext) -> None:
        """The request's text (as the other checks left it) judged by each classifier."""
        plan = self._plan(ctx, "request")
        if plan is None or not plan.classifiers or self._classifier.is_own(ctx.headers):
            return
        texts = [slot.get() for slot in request_slots(ctx.api, ctx.body)]
        text = "\n\n".join(t for t in texts if t)
        if not text:
            return
        for check in plan.classifiers:
            try:
                hits = await self._classifier.screen(check, text, ctx.request_id)
            except Blocked as blocked:
                ctx.guard_hits.extend(blocked.hits)
                raise _refused(Blocked(blocked.hit, ctx.guard_hits)) from None
            ctx.guard_hits.extend(hits)

    def finished(self, ctx: RequestContext) -> None:
        """A request's alert hits to the log, and its hits to the alerts webhook (by check
        and entity, never the text)."""
        if not ctx.guard_hits:
            return
        hits = merge(ctx.guard_hits)
        alerted = [hit for hit in hits if hit.action == "alert"]
        if alerted:
            log.warning("guardrail alert: %s %s", ctx.request_id, header_value(alerted))
        alerts = self._config().alerts
        posted = [hit for hit in hits if alerts is not None and hit.action in alerts.actions]
        if alerts is None or not posted:
            return
        payload = {
            "type": "guardrails.hit",
            "request_id": ctx.request_id,
            "key_id": ctx.identity.key_id,
            "team_id": ctx.identity.team_id,
            "model": ctx.requested_model,
            "status": ctx.status,
            "hits": [hit.as_dict() for hit in posted],
        }
        self._webhooks.send(alerts.webhook_url, payload)

    def outbound(self, ctx: RequestContext, answer: Reply | Stream) -> Reply | Stream:
        plan = self._plan(ctx, "response")
        redactor = ctx.redactor
        if plan is None or redactor is None or (not plan and not redactor.restores):
            return answer
        if isinstance(answer, Stream):
            answer.share_decoded = True
            answer.events = guarded(
                answer.events, ctx.api, plan, redactor, ctx.guard_hits, ctx.body, answer
            )
            return answer
        try:
            screened = screen_reply(plan, redactor, ctx.api, answer.body, ctx.body)
        except Blocked as blocked:
            ctx.guard_hits.extend(blocked.hits)
            raise _refused(blocked) from None
        ctx.guard_hits.extend(screened.hits)
        # A new reply: the one given may be the cache's own.
        return Reply(screened.body, answer.usage, answer.model, kept=screened.kept)


def classifier_calls(ask: Callable[[RequestContext], Awaitable[Reply]]) -> Ask:
    """The classifier's calls as requests the gateway makes itself (`RequestPath.ask`), as
    the master key, tagged, correlated with the request they judge."""

    async def call(body: dict[str, Any], judged: str, headers: dict[str, str]) -> bytes:
        ctx = RequestContext(
            request_id=f"req_{uuid.uuid4().hex}",
            api="chat",
            body=body,
            headers=headers,
            identity=MASTER,
            requested_model=body["model"],
            tags=[TAG],
            client_request_id=judged,
        )
        return (await ask(ctx)).body

    return call


def _refused(blocked: Blocked) -> GatewayError:
    headers = {"x-gateway-guardrails": header_value(blocked.hits)}
    return GatewayError(400, str(blocked), code="content_policy_violation", headers=headers)
