"""Structured logs: one JSON line per request on stdout, the gateway's other logs as JSON too.

Standard library logging throughout. The request path only puts a record on a queue; a
background thread formats and writes it, so a slow stdout never holds up a request. The
thread drains the queue every few milliseconds rather than waking for each record, and
writes a drain's lines together: a wake per record cost each request about 0.2 ms of CPU,
mostly the hand-over of the interpreter lock between the threads. With nothing queued it
sleeps until a record comes.
Every line is scrubbed of secrets, whatever field they hide in: the gateway's own keys
verbatim, and anything shaped like an API key or a bearer token. Prompts and completions
are never part of a line.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import re
import sys
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TextIO

import orjson

if TYPE_CHECKING:
    from llm_proxy.pipeline.context import RequestContext
    from llm_proxy.telemetry.outcome import Outcome

GATEWAY_LOGGER = "llm_proxy"
REQUEST_LOGGER = "llm_proxy.requests"
REDACTED = "[redacted]"

# OpenAI/Anthropic/gateway keys (sk-…, sk-ant-…, sk-gw-…) and bearer credentials.
_KEY_SHAPES = re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}|(?i:\bbearer)\s+[A-Za-z0-9._~+/\-]{8,}=*")

Secrets = Callable[[], Iterable[str]]


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return self.scrub(orjson.dumps(line).decode())

    def scrub(self, text: str) -> str:
        for secret in self._secrets():
            # Short values would blank out innocent text; real keys are long.
            if len(secret) >= 8:
                text = text.replace(secret, REDACTED)
        # Searching for the shapes tries every position of the line (an alternation has
        # no literal prefix the search can skip to): tens of microseconds for a
        # request's line, the log thread's largest cost. Every shape starts with `sk-`
        # or `bearer` in some case, so a line with neither has nothing to redact.
        if "sk-" not in text and "bearer" not in text.lower():
            return text
        return _KEY_SHAPES.sub(REDACTED, text)


def _iso(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


class _InProcessQueueHandler(logging.handlers.QueueHandler):
    """Hands the record over as it is: the queue stays in this process (nothing is pickled)
    and the JSON formatter on the other side formats it once, off the request path."""

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        return record


# How often the writing thread looks for records: a line's delay, at most; and the most
# lines it holds before writing them anyway.
_DRAIN_S = 0.02
_MAX_PENDING = 256


class _Lines(logging.StreamHandler):  # type: ignore[type-arg]
    """Gathers a drain's lines and writes them at once when the listener flushes. Kept
    here, not in stdout's own buffer: whichever thread overflowed that buffer would do the
    write, and a print on the event loop (LiteLLM prints) would then wait on a full pipe."""

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._pending.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)
        if len(self._pending) >= _MAX_PENDING:
            self.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._pending:
                text, self._pending = "".join(self._pending), []
                self.stream.write(text)
            self.stream.flush()


class _Drain(logging.handlers.QueueListener):
    def __init__(self, records: queue.SimpleQueue[logging.LogRecord], output: _Lines) -> None:
        super().__init__(records, output)
        self._records = records

    def dequeue(self, block: bool) -> logging.LogRecord:
        try:
            return self._records.get_nowait()
        except queue.Empty:
            if not block:
                raise
        for handler in self.handlers:
            handler.flush()
        # Nothing queued: sleep until a record comes, then give the others of its drain
        # time to join it. Polling instead woke the thread 50 times a second for nothing,
        # each wake taking the interpreter lock from a busy event loop (~12 µs a request
        # at 1,000 requests a second, with no line to write).
        record = self._records.get()
        time.sleep(_DRAIN_S)
        return record


class LogPipe:
    """The `llm_proxy` loggers' route to stdout: a queue and the thread that drains it."""

    def __init__(self, level: str, secrets: Secrets) -> None:
        output = self._output = _Lines(sys.stdout)
        output.setFormatter(JsonFormatter(secrets))
        records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
        self._listener = _Drain(records, output)
        self._handler = _InProcessQueueHandler(records)
        logger = logging.getLogger(GATEWAY_LOGGER)
        for handler in [h for h in logger.handlers if isinstance(h, _InProcessQueueHandler)]:
            logger.removeHandler(handler)  # a previous gateway's, in this same process
        logger.addHandler(self._handler)
        logger.propagate = False
        self.set_level(level)
        self._listener.start()

    def set_level(self, level: str) -> None:
        logging.getLogger(GATEWAY_LOGGER).setLevel(level.upper())

    def close(self) -> None:
        """Write out what is queued; later records fall back to stderr."""
        logging.getLogger(GATEWAY_LOGGER).removeHandler(self._handler)
        self._listener.stop()
        self._output.flush()


class RequestLog:
    """The one line each finished request leaves: who, what, how long, how much, how it ended."""

    def __init__(self) -> None:
        self._logger = logging.getLogger(REQUEST_LOGGER)

    def write(self, ctx: RequestContext, outcome: Outcome) -> None:
        logger = self._logger
        if logger.isEnabledFor(logging.INFO):
            # The record `info` would make and hand on, less its walk up the stack for
            # the caller's file and line: a request's line comes from here, and none
            # shows them.
            extra = {"fields": request_fields(ctx, outcome)}
            record = logger.makeRecord(
                REQUEST_LOGGER, logging.INFO, __file__, 0, "request", (), None, "write", extra
            )
            logger.handle(record)


def request_fields(ctx: RequestContext, outcome: Outcome) -> dict[str, Any]:
    dispatch = ctx.dispatch
    deployment = dispatch.deployment
    identity = ctx.identity
    usage = ctx.usage
    route = ctx.route
    return {
        "request_id": ctx.request_id,
        "client_request_id": ctx.client_request_id,
        "trace_id": ctx.trace_id,
        "api": ctx.api,
        "team_id": identity.team_id,
        "key_id": identity.key_id,
        "key_prefix": identity.key_prefix,
        "model_requested": ctx.requested_model or None,
        "model": dispatch.group,
        "provider": deployment.provider if deployment else None,
        "deployment": deployment.name if deployment else None,
        "stream": ctx.stream,
        "status": ctx.status,
        "error": ctx.error,
        "input_tokens": usage.prompt_tokens,
        "output_tokens": usage.completion_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost_usd": round(outcome.cost_usd, 8),
        "latency_ms": round(outcome.latency_s * 1000, 3),
        "overhead_ms": round(outcome.overhead_s * 1000, 3),
        "ttft_ms": round(ctx.ttft_ms, 3) if ctx.ttft_ms is not None else None,
        "attempts": len(dispatch.attempts),
        "fallback_from": dispatch.attempts[0].group if dispatch.fallback_used else None,
        "cache": ctx.cache_result,
        "route": route.header() if route is not None else None,
        "stages_ms": ctx.stage_ms,
    }
