"""`Telemetry`: what the pipeline calls to make a request observable.

`begin` when a request arrives, `stage` around each pipeline stage, `finish` once when it
has ended (answered, failed, or abandoned by its client). Tracing, metrics and the request
log are each optional; what is off costs nothing per request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from llm_proxy.config.models import Observability
from llm_proxy.telemetry.logging import LogPipe, RequestLog, Secrets
from llm_proxy.telemetry.metrics import Metrics, QueueDepths
from llm_proxy.telemetry.outcome import Outcome
from llm_proxy.telemetry.stages import CALLING_STAGES, Passing, Stage, Timing
from llm_proxy.telemetry.tracing import Tracing, tracing_from_env
from llm_proxy.upstream.registry import Registry

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext


class Telemetry:
    def __init__(
        self,
        config: Observability,
        secrets: Secrets,
        registry: Callable[[], Registry],
        spooled: Callable[[], int],
        queues: QueueDepths | None = None,
    ) -> None:
        self.tracing: Tracing | None = tracing_from_env(config.tracing)
        self.metrics = Metrics(registry, spooled, queues) if config.metrics else None
        self._log_pipe = LogPipe(config.log_level, secrets)
        self._request_log = RequestLog() if config.request_log else None

    def begin(self, ctx: RequestContext, headers: Mapping[str, str]) -> None:
        if self.tracing is not None:
            self.tracing.start_request(ctx, headers)
        if self.metrics is not None:
            self.metrics.started()

    def stage(self, ctx: RequestContext, name: str) -> Stage | Timing:
        trace = ctx.span
        if trace is None:  # not traced (tracing off): the stage's time, nothing more
            return Timing(ctx, name)
        if trace.sampled:  # a span (a trace is only made when tracing is on)
            return Stage(ctx, name, self.tracing, trace)  # type: ignore[arg-type]
        # Unsampled: only a calling stage does more than time itself, for the callee.
        return Passing(ctx, name, trace) if name in CALLING_STAGES else Timing(ctx, name)

    def finish(self, ctx: RequestContext) -> None:
        outcome = outcome_of(ctx)
        if self.metrics is not None:
            self.metrics.finished(ctx, outcome)
        if self._request_log is not None:
            self._request_log.write(ctx, outcome)
        if self.tracing is not None:
            self.tracing.finish_request(ctx, outcome)

    def reconfigure(self, config: Observability) -> None:
        """On reload: the log level follows the file; the rest is fixed at start."""
        self._log_pipe.set_level(config.log_level)

    def close(self) -> None:
        if self.tracing is not None:
            self.tracing.shutdown()
        if self.metrics is not None:
            self.metrics.close()
        self._log_pipe.close()


def outcome_of(ctx: RequestContext) -> Outcome:
    latency = time.perf_counter() - ctx.started
    until = ctx.ttft_ms / 1000 if ctx.ttft_ms is not None else latency
    return Outcome(latency, max(0.0, until - ctx.dispatch.upstream_s), ctx.cost_usd)
