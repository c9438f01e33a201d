"""`model: "auto"`: ask the router-service which model should answer, within a deadline.

The router is an optimisation, never a dependency: when it is slow, down, or answers with
a model no backend serves, the group's default model answers and the fallback is counted.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

from llm_proxy.config.models import AutoGroup, RouterService
from llm_proxy.pipeline.context import RequestContext, RouteDecision
from llm_proxy.trace_context import trace_headers


class RouterClient:
    def __init__(self, session: Callable[[], aiohttp.ClientSession]) -> None:
        # The HTTP session is shared with the fast path and created lazily on its loop.
        self._session = session

    async def decide(
        self,
        ctx: RequestContext,
        name: str,
        group: AutoGroup,
        service: RouterService,
        served: set[str],
    ) -> RouteDecision:
        started = time.perf_counter()
        payload = {"messages": _as_messages(ctx.body), "auto_group": name}
        try:
            async with self._session().post(
                service.url.rstrip("/") + "/route",
                data=orjson.dumps(payload),
                headers={"content-type": "application/json", **trace_headers()},
                timeout=aiohttp.ClientTimeout(total=service.deadline_ms / 1000),
            ) as response:
                if response.status != 200:
                    return _fallback(name, group, started, f"status_{response.status}")
                answer = orjson.loads(await response.read())
        except TimeoutError:
            return _fallback(name, group, started, "deadline")
        except (aiohttp.ClientError, orjson.JSONDecodeError):
            return _fallback(name, group, started, "unavailable")
        model = answer.get("model") if isinstance(answer, dict) else None
        if not isinstance(model, str) or model not in served:
            return _fallback(name, group, started, "unserved_model")
        return RouteDecision(
            group=name,
            model=model,
            router=str(answer.get("router")),
            score=float(answer.get("score") or 0.0),
            threshold=float(answer.get("threshold") or 0.0),
            latency_ms=(time.perf_counter() - started) * 1000,
        )


def _fallback(name: str, group: AutoGroup, started: float, reason: str) -> RouteDecision:
    return RouteDecision(
        group=name,
        model=group.default,
        router=None,
        score=None,
        threshold=None,
        latency_ms=(time.perf_counter() - started) * 1000,
        fallback_reason=reason,
    )


def router_input(body: dict[str, Any], max_chars: int) -> list[dict[str, str]]:
    """The conversation as the router reads it, as text (`{role, content}`), at most about
    `max_chars` long: the newest messages are kept, an older one cut at its start."""
    kept: list[dict[str, str]] = []
    room = max_chars
    for message in reversed(_as_messages(body)):
        if room <= 0:
            break
        if not isinstance(message, dict):
            continue
        text = _text(message.get("content"))
        kept.append({"role": str(message.get("role", "user"))[:32], "content": text[-room:]})
        room -= len(text)
    kept.reverse()
    return kept


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = (part.get("text") for part in content if isinstance(part, dict))
        return "\n".join(part for part in parts if isinstance(part, str))
    return ""


def _as_messages(body: dict[str, Any]) -> list[Any]:
    """The prompt as chat messages, which the router reads, from any client API's body."""
    messages = body.get("messages")
    if isinstance(messages, list):
        return messages
    value = body.get("input", body.get("prompt"))
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list):
        return []
    # Responses API items: messages as they are; a function's output as what the user saw.
    return [
        {"role": item.get("role", "user"), "content": item.get("content") or item.get("output")}
        for item in value
        if isinstance(item, dict) and ("role" in item or "output" in item)
    ]
