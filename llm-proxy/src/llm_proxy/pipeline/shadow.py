"""Shadow judging: for a share of an auto group's chat requests, the pair's other model
answers the same request and a judge model compares the two answers, after the client's
answer is out; the verdict becomes a route label (source "shadow").

Deciding is a counter per group, not dice: its n-th request is due when n * share passes a
whole number, so exactly floor(n * share) of n requests are (in each replica). A due request's
answer is kept for the judge as it passes (a stream's frames, a reply's body, as the
upstream said them: what the guard redacted stays redacted). The run starts, as a task of
its own, once the response's last byte has been sent (`answered`, called by the API layer
through `RequestPath.delivered`): reading the kept answer and every shadow call happen
after the client has it all, so they never delay it.

Each shadow call goes through the gateway's own request path (`ask`), so limits, budgets,
guards, metrics, traces and the spend log see it as any request (its span a child of the
judged request's, in that trace); it is charged to the
group's `shadow.budget` (a key, or a team), tagged `shadow`, its `shadow_of` naming the
request judged. The caller's key, team and counters never see it. The other model answers
first, then the judge twice at once, the two answers in each order (`pipeline.judge`).

Bounded: at most `max_concurrent` runs of a group at once per replica (a request due past
that is skipped, counted `busy`), each abandoned after `timeout_s`. Whatever happens to a
run is counted (`gateway_shadow_runs_total`) and never reaches the client's request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from llm_proxy.cache.replay import collect
from llm_proxy.config.models import AutoGroup, GatewayConfig, Shadow
from llm_proxy.identity import Identity
from llm_proxy.ids import new_request_id
from llm_proxy.pipeline.auto_route import router_input
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError
from llm_proxy.pipeline.identify import key_identity, team_identity
from llm_proxy.pipeline.judge import Verdict, answer_text, judge_body, strong_wins, verdict_of
from llm_proxy.pipeline.route_learning import pair_of
from llm_proxy.store.directory import Directory
from llm_proxy.store.route_labels import Label, LabelStore, Pair
from llm_proxy.telemetry.metrics import Metrics
from llm_proxy.trace_context import span_headers
from llm_proxy.upstream.transports.base import Reply, Stream
from llm_proxy.usage import Usage

log = logging.getLogger("llm_proxy.shadow")

# The spend log's tag of every shadow call.
SHADOW_TAG = "shadow"
# Shares are counted in millionths, so the deciding rule is exact integer arithmetic.
_PARTS = 1_000_000
# Request fields the other model's call does not repeat: it is answered whole, and the
# client's tags and session are the client's.
_NOT_REPEATED = ("stream", "stream_options", "metadata")

Ask = Callable[[RequestContext], Awaitable[Reply]]


@dataclass(slots=True)
class ShadowWatch:
    """What a due request keeps for its shadow run: its answer, as the upstream gave it."""

    frames: list[bytes] = field(default_factory=list)
    reply: bytes | None = None

    def completion(self) -> Any:
        """The answer as a chat completion; None when it cannot be read as one."""
        if self.reply is not None:
            with contextlib.suppress(orjson.JSONDecodeError):
                return orjson.loads(self.reply)
            return None
        return collect(b"".join(self.frames), Usage())


@dataclass(frozen=True, slots=True)
class _Job:
    group: str
    shadow: Shadow
    pair: Pair
    request_id: str
    body: dict[str, Any]
    messages: list[dict[str, str]]
    answer: str
    max_chars: int
    # The judged request's trace, which its shadow calls join (empty when tracing is off).
    trace: dict[str, str]


class ShadowJudging:
    def __init__(
        self,
        config: Callable[[], GatewayConfig],
        directory: Directory,
        labels: LabelStore,
        ask: Ask,
        metrics: Metrics | None,
    ) -> None:
        self._config = config
        self._directory = directory
        self._labels = labels
        self._ask = ask
        self._metrics = metrics
        self._seen: dict[str, int] = {}
        self._running: dict[str, int] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def plan(self, ctx: RequestContext, name: str, group: AutoGroup) -> None:
        """An auto request was routed: mark it if it is due a shadow run."""
        shadow = group.shadow
        if shadow is None or ctx.api != "chat" or ctx.shadow_of is not None:
            return
        seen = self._seen[name] = self._seen.get(name, 0) + 1
        if due(seen, shadow.share):
            ctx.shadow = ShadowWatch()

    def watch(self, ctx: RequestContext, answer: Reply | Stream) -> Reply | Stream:
        """Keep a due request's answer for its judge (a stream's frames as they pass)."""
        watch = ctx.shadow
        if watch is None:
            return answer
        if isinstance(answer, Reply):
            watch.reply = answer.body
        else:
            answer.events = _kept(answer.events, watch.frames)
        return answer

    def answered(self, ctx: RequestContext) -> None:
        """A request's answer is out: start its shadow run if it is due one and can have it."""
        watch, ctx.shadow = ctx.shadow, None
        if watch is None or ctx.route is None:
            return
        name = ctx.route.group
        group = self._config().routing.auto_groups.get(name)
        if group is None or group.shadow is None:
            return  # the config changed under it
        job = self._job(ctx, name, group, group.shadow, watch)
        if isinstance(job, str):
            self._count(name, job)
            return
        self._running[name] = self._running.get(name, 0) + 1
        task = asyncio.ensure_future(self._run(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _job(
        self, ctx: RequestContext, name: str, group: AutoGroup, shadow: Shadow, watch: ShadowWatch
    ) -> _Job | str:
        """The run a logged request is due, or why it gets none."""
        if ctx.status >= 400:
            return "unanswered"
        pair = pair_of(ctx, group)
        if pair is None:
            return "unpaired"  # a fallback answered: there is no pair to compare
        if self._running.get(name, 0) >= shadow.max_concurrent:
            return "busy"
        completion = watch.completion()
        if completion is None:
            return "unreadable"
        max_chars = group.labels.max_chars
        return _Job(
            group=name,
            shadow=shadow,
            pair=pair,
            request_id=ctx.request_id,
            body=ctx.body,
            messages=router_input(ctx.body, max_chars),
            answer=answer_text(completion, max_chars),
            max_chars=max_chars,
            trace=span_headers(ctx.span.context) if ctx.span is not None else {},
        )

    async def close(self) -> None:
        """Abandon the runs in flight (their calls are logged as 499)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, job: _Job) -> None:
        try:
            outcome = await asyncio.wait_for(self._judge(job), job.shadow.timeout_s)
        except TimeoutError:
            outcome = "timeout"
        except Exception:  # a run's failure is counted and logged, never raised
            log.exception("shadow run of %s (group %s) failed", job.request_id, job.group)
            outcome = "failed"
        finally:
            self._running[job.group] -= 1
        self._count(job.group, outcome)

    async def _judge(self, job: _Job) -> str:
        """The other model's answer, the judge's verdicts in both orders, the label."""
        try:
            payer = await self._payer(job)
        except GatewayError as error:
            log.warning("shadow judging of group %s: %s", job.group, error.message)
            return "unpaid"
        try:
            strong, weak = await self._answers(job, payer)
            strong_first, weak_first = await self._verdicts(job, payer, strong, weak)
        except GatewayError:
            return "failed"  # refused or failed, and logged as such by the request path
        if strong_first is None or weak_first is None:
            return "unjudged"
        label = Label(
            request_id=job.request_id,
            source="shadow",
            pair=job.pair,
            messages=job.messages,
            strong_wins=strong_wins(strong_first, weak_first),
            detail={"judge_model": job.shadow.judge_model, "verdicts": [strong_first, weak_first]},
        )
        self._labels.add(label)
        return "labelled"

    async def _answers(self, job: _Job, payer: Identity) -> tuple[str, str]:
        """The strong and the weak model's answers: the client's, and the other's, asked now."""
        pair = job.pair
        routed_strong = pair.routed_model == pair.strong_model
        other = pair.weak_model if routed_strong else pair.strong_model
        asked = {k: v for k, v in job.body.items() if k not in _NOT_REPEATED}
        reply = await self._ask(self._call(job, payer, {**asked, "model": other}))
        theirs = answer_text(orjson.loads(reply.body), job.max_chars)
        return (job.answer, theirs) if routed_strong else (theirs, job.answer)

    async def _verdicts(
        self, job: _Job, payer: Identity, strong: str, weak: str
    ) -> tuple[Verdict | None, Verdict | None]:
        """The judge's verdicts with the strong answer as A, then as B, asked at once."""
        judge = job.shadow.judge_model
        orders = (
            judge_body(judge, job.messages, strong, weak),
            judge_body(judge, job.messages, weak, strong),
        )
        calls = [self._ask(self._call(job, payer, body)) for body in orders]
        # Both are awaited whatever happens to the other: each is logged as it ends.
        first, second = await asyncio.gather(*calls, return_exceptions=True)
        for outcome in (first, second):
            if isinstance(outcome, BaseException):
                raise outcome
        assert isinstance(first, Reply) and isinstance(second, Reply)
        return verdict_of(first.body), verdict_of(second.body)

    async def _payer(self, job: _Job) -> Identity:
        budget = job.shadow.budget
        if budget.key is not None:
            return await key_identity(budget.key, self._directory)
        assert budget.team is not None
        return await team_identity(budget.team, f"shadow_{job.group}", self._directory)

    def _call(self, job: _Job, payer: Identity, body: dict[str, Any]) -> RequestContext:
        return RequestContext(
            request_id=new_request_id(),
            api="chat",
            body=body,
            headers=dict(job.trace),
            identity=payer,
            requested_model=body["model"],
            tags=[SHADOW_TAG],
            shadow_of=job.request_id,
        )

    def _count(self, group: str, outcome: str) -> None:
        if self._metrics is not None:
            self._metrics.shadow_runs.labels(group=group, outcome=outcome).inc()


def due(seen: int, share: float) -> bool:
    """Whether the `seen`-th request is due a shadow run: `seen * share` passes a whole
    number (so any n requests in a row hold floor(n * share) or ceil(n * share) runs)."""
    parts = round(share * _PARTS)
    return seen * parts // _PARTS > (seen - 1) * parts // _PARTS


async def _kept(events: AsyncIterator[bytes], frames: list[bytes]) -> AsyncIterator[bytes]:
    try:
        async for frame in events:
            frames.append(frame)
            yield frame
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
