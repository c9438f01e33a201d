"""Where stages plug into the request path: prompt templates, guardrails, the optimizer.

Each seam is a tuple of stage objects (or one optional object) handed to `RequestPath`;
an empty seam is a loop over nothing, so a stage that is not configured costs nothing.
The request path times each stage under its `name` (the spend log's waterfall, and a span
when the request is traced) and runs them in the order given.

- `templates` (`Template`, e.g. `pipeline.template.TemplateStage`): right after the body is
  read, before it is validated and before every stage that reads it (`RequestPath.template`,
  called by the API layer), so limits, cache and routing see what will be sent. `apply`
  may rewrite `ctx.body` and returns the prompt it used (kept as `ctx.prompt`), or refuses
  the request by raising `GatewayError` (a 4xx in the client's error shape).
- `guards` (`Guard`, e.g. `pipeline.guard.GuardStage`): `inbound` screens the request
  before the cache is asked (it may redact `ctx.body`, or refuse with `GatewayError`);
  `outbound` screens every answer before it leaves, cache hits included (the cache keeps
  what the upstream said; placeholders are restored per request), and returns the answer
  to send: a reply replaced, or a stream with its `events` wrapped.
- `optimizer` (`Optimizer`, `optimizer.stage.OptimizerStage`): `identify` admits its
  sub-calls' delegated credentials before the key directory is asked; `prepare` (before
  limits) marks a request that names an approach (`ctx.optimizer`, so the reservation
  covers the whole fan-out); `run` then answers it in place of route and dispatch (which it
  is handed, for requests it passes on), and `recorded` sees each spend record written.
  Its sub-calls come back through the gateway as requests of their own, each counted,
  limited and logged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Protocol

from llm_proxy.identity import Identity
from llm_proxy.pipeline.context import PromptUse, RequestContext
from llm_proxy.store.request_log import RequestRecord
from llm_proxy.upstream.transports.base import Reply, Stream


class Template(Protocol):
    """A stage that turns a request naming a stored prompt into that prompt rendered."""

    def named(self, ctx: RequestContext) -> bool: ...

    async def apply(self, ctx: RequestContext) -> PromptUse: ...


class Guard(Protocol):
    """Guardrails: the request on its way in, the answer (replies and streams) on its way out."""

    def enabled(self) -> bool: ...

    def inbound(self, ctx: RequestContext) -> None: ...

    async def classify(self, ctx: RequestContext) -> None: ...

    def finished(self, ctx: RequestContext) -> None: ...

    async def outbound(self, ctx: RequestContext, answer: Reply | Stream) -> Reply | Stream: ...


class Optimizer(Protocol):
    """Answers the requests that name an approach, in place of route and dispatch."""

    async def identify(self, ctx: RequestContext) -> Identity | None: ...

    async def prepare(self, ctx: RequestContext, served: Collection[str]) -> None: ...

    async def run(
        self, ctx: RequestContext, plain: Callable[[], Awaitable[Reply | Stream]]
    ) -> Reply | Stream: ...

    def recorded(self, ctx: RequestContext, record: RequestRecord) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Seams:
    templates: tuple[Template, ...] = ()
    guards: tuple[Guard, ...] = ()
    optimizer: Optimizer | None = None
