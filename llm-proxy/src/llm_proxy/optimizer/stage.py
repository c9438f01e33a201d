"""The optimizer stage: a request that names an approach is answered by the optimizer.

Before limits and budgets, `prepare` picks the approaches (checked against the caller's
key and team) and how many sub-calls they make, so the reservation covers the whole
fan-out and a request that does not fit is refused before any sub-call. `run` mints the
request's delegated credential, asks the optimizer, and when the answer is out ends the
credential and rolls the sub-calls' own spend records up into the parent's usage and cost.
The sub-calls settle the counters themselves; the parent's reservation is given back.
A Messages request goes to the optimizer as chat and its answer comes back as Anthropic's
(`messages`, LiteLLM's translation).

A sub-call (a delegated credential) is held to its scope here: its request's model (no
metadata nor routing-rule header to steer it elsewhere), and no approach of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from typing import Any

import orjson

from llm_proxy.config.models import GatewayConfig, Rule
from llm_proxy.identity import Identity
from llm_proxy.optimizer.delegation import (
    Delegation,
    Delegations,
    DelegationStore,
    DelegationUnavailable,
    is_delegated,
)
from llm_proxy.optimizer.delegation_memory import MemoryDelegations
from llm_proxy.optimizer.delegation_redis import RedisDelegations
from llm_proxy.optimizer.fanout import FanOut, OptimizerRun
from llm_proxy.optimizer.messages import MessagesTranslation, Translated
from llm_proxy.optimizer.selection import FIELD, check_allowed, select
from llm_proxy.optimizer.service import OptimizerService, Unavailable
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.pipeline.identify import credential
from llm_proxy.pipeline.limits import call_output_cap
from llm_proxy.store.request_log import RequestRecord
from llm_proxy.trace_context import trace_headers
from llm_proxy.upstream.transports.base import Reply, Stream
from llm_proxy.usage import Usage

DEADLINE_HEADER = "x-gateway-deadline-ms"
PARENT_HEADER = "x-gateway-parent-request-id"
# How long the parent waits, once the optimizer answered, for sub-calls still being settled.
_SETTLE_WAIT_S = 5.0

Answer = Reply | Stream


class OptimizerStage:
    def __init__(self, config: Callable[[], GatewayConfig], service: OptimizerService) -> None:
        self._config = config
        self.service = service
        self.delegations = Delegations(_store(config()))
        self.messages = MessagesTranslation()

    async def identify(self, ctx: RequestContext) -> Identity | None:
        """A sub-call's identity (its parent's caller) when it presents a delegated credential."""
        presented = credential(ctx.headers)
        if presented is None or not is_delegated(presented):
            return None
        ctx.delegation = await self.delegations.admit(presented, ctx.api)
        return ctx.delegation.identity

    def recorded(self, ctx: RequestContext, record: RequestRecord) -> None:
        """A sub-call's spend record was written: it counts in its parent's roll-up."""
        if ctx.delegation is not None:
            self.delegations.recorded(ctx.delegation, record)

    async def prepare(self, ctx: RequestContext, served: Collection[str]) -> None:
        """The request's approaches and expected sub-calls, or none; 4xx when not allowed."""
        config = self._config().optimizer
        selection = select(ctx.body, ctx.requested_model, served, config)
        if ctx.delegation is not None:
            rules = self._config().routing.rules
            _check_sub_call(ctx, ctx.delegation, selection is not None, rules)
            return
        if selection is None:
            return
        if selection.approaches == ("none",):
            _use_model(ctx, selection.model)
            return
        check_allowed(selection, ctx.identity, config)
        if ctx.api not in ("chat", "messages"):
            raise bad_request(
                "Approaches run on chat completions (/v1/chat/completions) and messages "
                "(/v1/messages).",
                param=FIELD,
            )
        _use_model(ctx, selection.model)
        run = ctx.optimizer = OptimizerRun(selection.approaches, selection.model)
        run.streaming = ctx.stream
        if config.url is None:
            run.fallback = "unavailable"
            return
        try:
            run.expected_calls = await self.service.expected_calls(config.url, run.approaches)
        except Unavailable:
            run.fallback = "unavailable"
            return
        if run.expected_calls > config.max_calls:
            raise bad_request(
                f"Approach {run.label} makes about {run.expected_calls} sub-calls, more than "
                f"this gateway's max_calls of {config.max_calls}.",
                param=FIELD,
            )

    async def run(self, ctx: RequestContext, plain: Callable[[], Awaitable[Answer]]) -> Answer:
        run = ctx.optimizer
        assert run is not None
        config = self._config().optimizer
        if run.fallback is not None or config.url is None:
            run.expected_calls = 1
            return await plain()
        translated = await self.messages.to_chat(ctx.body) if ctx.api == "messages" else None
        deadline_ms = _deadline_ms(ctx, config.deadline_ms, config.max_deadline_ms)
        timeout_s = deadline_ms / 1000 + config.fallback_timeout_s
        try:
            secret, delegation = await self.delegations.mint(
                ctx.request_id,
                ctx.identity,
                run.model,
                config.max_calls,
                ctx.residency,
                timeout_s + 30,
            )
        except DelegationUnavailable:
            run.fallback, run.expected_calls = "unavailable", 1
            return await plain()
        headers = {
            "content-type": "application/json",
            "authorization": f"Bearer {secret}",
            PARENT_HEADER: ctx.request_id,
            DEADLINE_HEADER: str(deadline_ms),
            "x-gateway-max-calls": str(config.max_calls),
            "x-gateway-max-total-tokens": str(config.max_total_tokens),
            **trace_headers(),
        }
        # Each sub-call's output cap: the one the reservation counted per call.
        max_tokens = call_output_cap(ctx, self._config().limits)
        body = _run_body(ctx, run, translated, max_tokens)
        try:
            if ctx.stream:
                streamed = await self.service.stream(config.url, body, headers, timeout_s)
                run.detail = streamed.summary

                async def end(read_to_the_end: bool) -> None:
                    fanout = await self._end(ctx, delegation)
                    stream.usage = Usage(fanout.prompt_tokens, fanout.completion_tokens)
                    stream.completed = read_to_the_end

                events = streamed.events
                if translated is not None:
                    events = self.messages.stream(translated, events, run.model)
                stream = Stream(_Relayed(events, end), model=run.model)
                return stream
            answer = await self.service.answer(config.url, body, headers, timeout_s)
        except Unavailable:
            fanout = await self._end(ctx, delegation)
            if fanout.calls:
                raise GatewayError(
                    502, "The optimizer failed mid-run.", code="optimizer_unavailable"
                ) from None
            run.fanout, run.fallback, run.expected_calls = None, "unavailable", 1
            return await plain()
        except BaseException:
            await self._end(ctx, delegation)
            raise
        run.detail = answer.summary
        fanout = await self._end(ctx, delegation)
        reply = _with_usage(answer.body, fanout)
        if translated is not None:
            reply = await self.messages.reply(translated, reply)
        return Reply(reply, ctx.usage, run.model)

    async def close(self) -> None:
        await self.delegations.store.close()

    async def _end(self, ctx: RequestContext, delegation: Delegation) -> FanOut:
        """The credential ends with its request; the parent carries its sub-calls' sums."""
        fanout = await self.delegations.end(delegation, _SETTLE_WAIT_S)
        assert ctx.optimizer is not None
        ctx.optimizer.fanout = fanout
        ctx.usage = Usage(fanout.prompt_tokens, fanout.completion_tokens)
        return fanout


class _Relayed:
    """The optimizer's SSE passed on; when it ends (read to the end, or closed, started or
    not) the run ends: the credential with it, and the stream's usage is the roll-up."""

    def __init__(
        self, events: AsyncIterator[bytes], end: Callable[[bool], Awaitable[None]]
    ) -> None:
        self._events = events
        self._end = end
        self._ended = False

    def __aiter__(self) -> _Relayed:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._events.__anext__()
        except StopAsyncIteration:
            await self._close(read_to_the_end=True)
            raise
        except BaseException:
            await self._close(read_to_the_end=False)
            raise

    async def aclose(self) -> None:
        await self._close(read_to_the_end=False)

    async def _close(self, read_to_the_end: bool) -> None:
        if self._ended:
            return
        self._ended = True
        close = getattr(self._events, "aclose", None)
        if close is not None:
            await close()
        await self._end(read_to_the_end)


def _check_sub_call(
    ctx: RequestContext, delegation: Delegation, names_approach: bool, rules: Sequence[Rule]
) -> None:
    if names_approach:
        raise GatewayError(
            403, "An optimizer's sub-call cannot start an optimizer run.", code="delegation_scope"
        )
    # The optimizer sends neither: metadata tags or a header a routing rule matches would
    # route the sub-call to another model than its run's.
    steering = "metadata" in ctx.body or any(
        name.lower() in ctx.headers for rule in rules for name in rule.match.header
    )
    if steering:
        raise GatewayError(
            403,
            "An optimizer's sub-call carries no metadata and no header a routing rule reads.",
            code="delegation_scope",
        )
    if ctx.requested_model != delegation.model:
        raise GatewayError(
            403,
            f"This delegated credential makes sub-calls to {delegation.model!r} only.",
            code="delegation_scope",
            param="model",
        )


def _store(config: GatewayConfig) -> DelegationStore:
    """In Redis when the gateway has one (any worker or replica may get a sub-call)."""
    if config.redis.url is None:
        return MemoryDelegations()
    timeout_s = config.limits.redis_timeout_ms / 1000
    return RedisDelegations(config.redis.url, config.redis.prefix, timeout_s)


def _run_body(
    ctx: RequestContext, run: OptimizerRun, translated: Translated | None, max_tokens: int
) -> dict[str, Any]:
    """What the optimizer is sent: the chat request (a Messages request translated), its
    approaches and each sub-call's output cap."""
    chat = ctx.body if translated is None else translated.chat
    body = {**chat, FIELD: run.label, "max_tokens": max_tokens}
    body.pop("max_completion_tokens", None)
    if translated is not None and ctx.stream:
        # Anthropic's last stream event carries the usage: the optimizer sends it.
        body["stream_options"] = {"include_usage": True}
    return body


def _use_model(ctx: RequestContext, model: str) -> None:
    ctx.requested_model = model
    ctx.body["model"] = model


def _deadline_ms(ctx: RequestContext, default: int, ceiling: int) -> int:
    value = ctx.headers.get(DEADLINE_HEADER)
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise bad_request(f"The '{DEADLINE_HEADER}' header must be a positive integer.")
    return min(int(value), ceiling)


def _with_usage(body: bytes, fanout: FanOut) -> bytes:
    """The optimizer's answer with the usage the gateway counted for its sub-calls."""
    answer = orjson.loads(body)
    answer["usage"] = {
        "prompt_tokens": fanout.prompt_tokens,
        "completion_tokens": fanout.completion_tokens,
        "total_tokens": fanout.total_tokens,
    }
    return orjson.dumps(answer)
