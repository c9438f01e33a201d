"""The guard stages: the request screened before it goes anywhere, the answer before it leaves.

Which policies apply is decided by the model asked for and the caller's team and key. The
compiled policies follow the config: rebuilt when a reload brings a new guardrails section.
A block becomes a 400 `content_policy_violation` in the endpoint's error shape (nothing is
sent upstream), or, once a stream is under way, its closing error event. A classifier check
(`guard.classifier`) runs after the others, on the request or the answer as they left it
(redacted); the classifier's own calls are not guarded.

A classifier on answers needs the whole answer. A complete one is judged before it is
returned. A stream is held whole when a verdict could withhold it (a classifier whose
action is block, or that fails closed): the client's stream starts only once the answer is
judged, so a refused one is a 400 like any other and nothing of it was sent (the price: no
byte before the model has finished). With `guardrails.held_keepalive_s` the held stream
starts at once and carries SSE comments until it is judged, for connections that would
otherwise be dropped as idle: a refusal is then its error event instead of a 400. With
only alerting classifiers the stream flows as it comes and its text is judged once the
upstream has ended, before the client gets the end: the verdict reaches the spend log, the
metric and the alerts, not the response's headers, which went first.

A tenant that opted in to prompt logging (`log_prompts` on its key's or team's override)
has its request and answer kept with its spend record: redacted, then sealed under
`guardrails.prompt_log.keys` (`guard.prompt_log`), made as the record is; nothing of the
kind for anyone else. A key that does not resolve is logged once (and resolved again with
each record until it does), and counted (`gateway_prompt_log_keys_unresolved`); while it is
the first key, each record made without its prompt logs an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from llm_proxy.config.guardrails import ClassifierCheck, Guardrails
from llm_proxy.guard import prompt_log
from llm_proxy.guard.bodies import request_slots
from llm_proxy.guard.classifier import TAG, Ask, Classifier
from llm_proxy.guard.hits import Blocked, blocking, header_value, merge
from llm_proxy.guard.inbound import screen_request
from llm_proxy.guard.outbound import kept_text, screen_reply
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.policies import Plan, Policies
from llm_proxy.guard.stream import Transcript, guarded, refusal_event
from llm_proxy.ids import new_request_id
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import MASTER
from llm_proxy.upstream.errors import UpstreamError
from llm_proxy.upstream.transports.base import Reply, Stream
from llm_proxy.webhooks import Webhooks

log = logging.getLogger("llm_proxy.guard")
# What a held stream says while it is judged (`Guardrails.held_keepalive_s`): an SSE
# comment, which the clients skip.
_KEEPALIVE = b": keep-alive\n\n"


class GuardStage:
    def __init__(
        self,
        config: Callable[[], Guardrails],
        classifier: Classifier,
        webhooks: Webhooks,
        keys_unresolved: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._config = config
        self._classifier = classifier
        self._webhooks = webhooks
        # Told how many prompt log keys do not resolve each time they are resolved (the
        # gateway's metric).
        self._keys_unresolved = keys_unresolved
        self._source = Guardrails()
        self._policies = Policies(self._source)
        # The prompt log's keys under the config in force, resolved on first use.
        self._keys: prompt_log.Keys | None = None

    def _current(self) -> Policies:
        config = self._config()
        if config is not self._source:
            self._policies, self._source = Policies(config), config
            self._keys = None
        return self._policies

    def enabled(self) -> bool:
        """Guardrails are on in the config in force (off, the request path skips the stage)."""
        return self._current().enabled

    def _plan(self, ctx: RequestContext, stage: str) -> Plan | None:
        if not self._current().enabled:
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
        await self._judged(ctx, plan.classifiers, "\n\n".join(t for t in texts if t), "request")

    async def _judged(
        self, ctx: RequestContext, checks: Sequence[ClassifierCheck], text: str, stage: str
    ) -> None:
        """`text` judged by each classifier; a block refuses the request (or the answer)."""
        if not text:
            return
        for check in checks:
            try:
                hits = await self._classifier.screen(check, text, ctx.request_id, stage)
            except Blocked as blocked:
                ctx.guard_hits.extend(blocked.hits)
                raise _refused(Blocked(blocked.hit, ctx.guard_hits)) from None
            ctx.guard_hits.extend(hits)

    def logs_prompts(self, ctx: RequestContext) -> bool:
        """The request's tenant opted in to prompt logging."""
        return self._current().logs_prompts(ctx.identity.team_id, ctx.identity.key_id)

    def finished(self, ctx: RequestContext) -> None:
        """The request's prompt sealed for its record (opted-in tenants only); its alert
        hits to the log, and its hits to the alerts webhook (by check and entity, never
        the text)."""
        if self.logs_prompts(ctx):
            self._seal(ctx)
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

    def _seal(self, ctx: RequestContext) -> None:
        keys = self._prompt_keys()
        if keys is None:
            return
        keyring = keys.sealer
        if keyring is None:
            why = keys.unresolved[keys.sealing]
            message = "prompt of %s not logged: its key %r does not resolve (%s)"
            log.error(message, ctx.request_id, keys.sealing, why)
            return
        answer = ctx.logged_answer() if ctx.logged_answer is not None else None
        redactor = ctx.redactor or Redactor()
        config = self._source.prompt_log
        assert config is not None  # keys come from it
        try:
            ctx.sealed_prompt = prompt_log.sealed(
                keyring, ctx.request_id, ctx.body, answer, redactor, config.max_chars
            )
        except TypeError:
            log.warning("prompt of %s not logged: its body is not JSON", ctx.request_id)

    def _prompt_keys(self) -> prompt_log.Keys | None:
        """The prompt log's keys under the config in force (None: it names none), resolved
        again while one does not, so a key put in place later counts at once."""
        config = self._source.prompt_log
        if config is None:
            return None
        known = self._keys
        if known is None or known.unresolved:
            self._keys = prompt_log.resolved(config)
            _report(known, self._keys)
            self._keys_unresolved(len(self._keys.unresolved))
        return self._keys

    async def outbound(self, ctx: RequestContext, answer: Reply | Stream) -> Reply | Stream:
        plan = self._plan(ctx, "response")
        redactor = ctx.redactor
        if plan is None or redactor is None:
            return answer
        logs = self.logs_prompts(ctx)
        if not plan and not redactor.restores and not logs:
            return answer
        if isinstance(answer, Stream):
            return await self._stream(ctx, plan, redactor, answer, logs)
        try:
            screened = screen_reply(plan, redactor, ctx.api, answer.body, ctx.body)
        except Blocked as blocked:
            ctx.guard_hits.extend(blocked.hits)
            raise _refused(blocked) from None
        ctx.guard_hits.extend(screened.hits)
        kept, api = screened.kept, ctx.api
        if plan.classifiers:
            await self._judged(ctx, plan.classifiers, kept_text(api, kept), "response")
        if logs:
            ctx.logged_answer = lambda: kept_text(api, kept)
        # A new reply: the one given may be the cache's own.
        return Reply(screened.body, answer.usage, answer.model, kept=kept)

    async def _stream(
        self, ctx: RequestContext, plan: Plan, redactor: Redactor, stream: Stream, logs: bool
    ) -> Stream:
        transcript = Transcript() if plan.classifiers or logs else None
        stream.events = guarded(
            stream.events, ctx.api, plan, redactor, ctx.guard_hits, ctx.body, stream, transcript
        )
        if transcript is None:
            return stream
        if logs:
            ctx.logged_answer = transcript.text
        if not plan.classifiers:
            return stream
        if any(check.action == "block" or check.fail == "closed" for check in plan.classifiers):
            every = self._source.held_keepalive_s
            held = self._held(ctx, plan, stream.events, transcript)
            if every is None:
                stream.events = await held
            else:
                # Judged from now on, whether or not the client's stream gets under way.
                stream.events = _kept_alive(ctx.api, asyncio.ensure_future(held), every)
        else:
            stream.events = self._judged_after(ctx, plan, stream.events, stream, transcript)
        return stream

    async def _held(
        self, ctx: RequestContext, plan: Plan, events: AsyncIterator[bytes], transcript: Transcript
    ) -> AsyncIterator[bytes]:
        """The whole stream read and judged before any of it goes out: the events to send,
        or a refusal (`GatewayError`) when the guard or a classifier blocked it."""
        pieces: list[bytes] = []
        broke: UpstreamError | None = None
        try:
            async for piece in events:
                pieces.append(piece)
        except UpstreamError as error:
            # Judged as far as it came; the client gets that much, then the error.
            broke = error
        finally:
            await _close(events)
        blocked = blocking(hit for hit in ctx.guard_hits if hit.stage == "response")
        try:
            if blocked is not None:
                # The stream's own block: withheld whole, a 400 in place of its error event.
                raise _refused(Blocked(blocked, ctx.guard_hits))
            await self._judged(ctx, plan.classifiers, transcript.text(), "response")
        except GatewayError:
            # Nothing of a withheld answer is kept, in a prompt log either.
            ctx.logged_answer = None
            raise
        return _replay(pieces, broke)

    async def _judged_after(
        self,
        ctx: RequestContext,
        plan: Plan,
        events: AsyncIterator[bytes],
        stream: Stream,
        transcript: Transcript,
    ) -> AsyncIterator[bytes]:
        """The stream as it comes; its text judged once the upstream has ended (alerts
        only), before the piece that carries the end goes on: the verdict is then in the
        request's record, which is written before its client sees the end (`api.responses`)."""
        judged = False
        try:
            async for piece in events:
                if stream.completed and not judged:
                    judged = True
                    await self._judged_answer(ctx, plan, transcript)
                yield piece
        finally:
            await _close(events)
        if not judged:
            await self._judged_answer(ctx, plan, transcript)

    async def _judged_answer(self, ctx: RequestContext, plan: Plan, transcript: Transcript) -> None:
        if blocking(hit for hit in ctx.guard_hits if hit.stage == "response") is None:
            await self._judged(ctx, plan.classifiers, transcript.text(), "response")


async def _kept_alive(
    api: str, judging: asyncio.Future[AsyncIterator[bytes]], every: float
) -> AsyncIterator[bytes]:
    """A held stream started before its verdict: a comment every `every` seconds while the
    answer is read and judged, then the answer, or in place of a refusal's 400 its error
    event (nothing of the answer went out either way)."""
    try:
        while not (await asyncio.wait({judging}, timeout=every))[0]:
            yield _KEEPALIVE
        try:
            events = judging.result()
        except GatewayError as refused:
            yield refusal_event(api, refused.message)
            return
    finally:
        if not judging.done():
            # The client left while the answer was judged: the reading ends with it.
            judging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await judging
    async for piece in events:
        yield piece


def _report(known: prompt_log.Keys | None, keys: prompt_log.Keys) -> None:
    """A line for each key that does not resolve where it did (or was not tried), and for
    each that resolves now where it did not."""
    for key_id, why in keys.unresolved.items():
        if known is not None and key_id in known.unresolved:
            continue
        if key_id == keys.sealing:
            effect = "it seals new records: no prompt is logged until it resolves"
        else:
            effect = "the prompts it sealed do not open until it resolves; the others do"
        log.error("prompt log key %r does not resolve (%s): %s", key_id, why, effect)
    for key_id in set(known.unresolved if known is not None else ()) - set(keys.unresolved):
        log.info("prompt log key %r resolves now", key_id)


def classifier_calls(ask: Callable[[RequestContext], Awaitable[Reply]]) -> Ask:
    """The classifier's calls as requests the gateway makes itself (`RequestPath.ask`), as
    the master key, tagged, correlated with the request they judge."""

    async def call(body: dict[str, Any], judged: str, headers: dict[str, str]) -> bytes:
        ctx = RequestContext(
            request_id=new_request_id(),
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


async def _replay(pieces: list[bytes], broke: UpstreamError | None) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece
    if broke is not None:
        raise broke


async def _close(events: AsyncIterator[bytes]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


def _refused(blocked: Blocked) -> GatewayError:
    headers = {"x-gateway-guardrails": header_value(blocked.hits)}
    return GatewayError(400, str(blocked), code="content_policy_violation", headers=headers)
