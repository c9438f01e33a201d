"""The service's long-lived state and what one request needs before its approaches run.

One instance lives on the app (`app.state.service`): the approaches, the bounded pool of
worker threads they run in, and one pool of connections to the gateway shared by every
sub-call. Requests come from the gateway only; each carries the
delegated credential its sub-calls must use, the parent request id they belong to, and the
run's caps and deadline.
Where the sub-calls go is this service's configuration, never the request's.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers

from optimizer.approaches import Approach, load_approaches
from optimizer.conversation import Refused, split
from optimizer.gateway_http import GatewayConnections
from optimizer.run import Outcome, Plan, RunFailed, run
from optimizer.sub_calls import Caps, SubCalls

PARENT_HEADER = "x-gateway-parent-request-id"
DEADLINE_HEADER = "x-gateway-deadline-ms"
MAX_CALLS_HEADER = "x-gateway-max-calls"
MAX_TOKENS_HEADER = "x-gateway-max-total-tokens"
# The caller's trace continues through every sub-call.
_TRACE_HEADERS = ("traceparent", "tracestate")


@dataclass(frozen=True, slots=True)
class Settings:
    gateway_url: str  # the gateway's OpenAI base URL, e.g. http://llm-proxy:4000/v1
    workers: int = 16
    keepalive_s: float = 5.0
    deadline_ms: int = 60_000
    fallback_timeout_s: float = 60.0
    max_calls: int = 32
    max_total_tokens: int = 1_000_000
    default_max_tokens: int = 1024


@dataclass(frozen=True, slots=True)
class Job:
    plan: Plan
    sub_calls: SubCalls
    deadline: float
    stream: bool
    include_usage: bool


class Service:
    def __init__(self, settings: Settings, approaches: dict[str, Approach] | None = None) -> None:
        self.settings = settings
        self.approaches = approaches if approaches is not None else load_approaches()
        self.pool = ThreadPoolExecutor(settings.workers, thread_name_prefix="approach")
        gateway = urlsplit(settings.gateway_url)
        if gateway.scheme != "http" or gateway.hostname is None:
            raise ValueError(
                f"--gateway-url {settings.gateway_url!r}: the optimizer reaches the gateway "
                "over plain http:// (inside the deployment's network)"
            )
        # Keeps up to `keep` connections alive; more are opened when needed.
        self._http = GatewayConnections(
            gateway.hostname, gateway.port or 80, keep=settings.workers * 4
        )
        self._chat_path = gateway.path.rstrip("/") + "/chat/completions"

    def prepare(self, headers: Headers, raw: bytes) -> Job:
        """Everything a run needs, checked; raises Refused (400) or RunFailed (401)."""
        credential = _bearer(headers)
        parent = headers.get(PARENT_HEADER)
        if not parent:
            raise Refused(f"The '{PARENT_HEADER}' header is required.")
        body = _json(raw)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise Refused("'model' must be a non-empty string.", "model")
        approaches = self._approaches(body.get("optillm_approach"))
        label = "&".join(approach.name for approach in approaches)
        conversation = split(body, label)
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
        if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
            max_tokens = self.settings.default_max_tokens
        config: dict[str, Any] = {"max_tokens": max_tokens}
        if isinstance(body.get("temperature"), int | float):
            config["temperature"] = body["temperature"]
        deadline_ms = self._header_int(headers, DEADLINE_HEADER, "deadline_ms")
        deadline = time.monotonic() + deadline_ms / 1000
        caps = Caps(
            max_calls=self._header_int(headers, MAX_CALLS_HEADER, "max_calls"),
            max_total_tokens=self._header_int(headers, MAX_TOKENS_HEADER, "max_total_tokens"),
            deadline=deadline,
        )
        # Samples must be drawn, not replayed: the gateway's cache stays out of sub-calls.
        forwarded = {PARENT_HEADER: parent, "x-gateway-cache": "bypass"}
        forwarded |= {name: headers[name] for name in _TRACE_HEADERS if name in headers}
        forwarded |= {"authorization": f"Bearer {credential}", "content-type": "application/json"}
        params = {"max_tokens": max_tokens}
        path = self._chat_path
        sub_calls = SubCalls(self._http, path, forwarded, model, conversation, caps, params)
        options = body.get("stream_options")
        return Job(
            plan=Plan(approaches, conversation, model, config),
            sub_calls=sub_calls,
            deadline=deadline,
            stream=body.get("stream") is True,
            include_usage=isinstance(options, dict) and options.get("include_usage") is True,
        )

    async def run(self, job: Job) -> Outcome:
        fallback_s = self.settings.fallback_timeout_s
        return await run(job.plan, job.sub_calls, self.pool, job.deadline, fallback_s)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()

    def _approaches(self, value: Any) -> list[Approach]:
        if not isinstance(value, str) or not value:
            raise Refused("'optillm_approach' must name an approach.", "optillm_approach")
        names = value.split("&")
        unknown = [name for name in names if name not in self.approaches]
        if unknown:
            known = ", ".join(self.approaches)
            raise Refused(
                f"Unknown approach {unknown[0]!r}; this optimizer runs: {known}.",
                "optillm_approach",
            )
        return [self.approaches[name] for name in names]

    def _header_int(self, headers: Headers, name: str, setting: str) -> int:
        """A cap from the gateway's header, never above this service's own setting."""
        ceiling: int = getattr(self.settings, setting)
        value = headers.get(name)
        if value is None:
            return ceiling
        if not value.isdigit():
            raise Refused(f"The '{name}' header must be a non-negative integer.")
        return min(int(value), ceiling)


def _bearer(headers: Headers) -> str:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        message = "The gateway's delegated credential is required as 'Authorization: Bearer'."
        raise RunFailed(401, message, "missing_credential")
    return token.strip()


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Refused(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise Refused("The request body must be a JSON object.")
    return body
