"""The cache stage: answer from the cache before routing, remember fresh answers after settle.

Only OpenAI chat completions are cached. A request is looked up unless the client opts out
(`Cache-Control: no-cache`, `x-gateway-cache: bypass`, `metadata.bypass_cache`), its model or
path is excluded, or an agent has tool calls in flight. Answers are scoped by team (a key
with no team is a scope of its own, as is the master key), except for the groups
configured as shared.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import NamedTuple

import orjson

from llm_proxy.cache import CacheRequest, Found, ResponseCache
from llm_proxy.cache.keys import exact_key, semantic_prompt, tool_calls_in_flight
from llm_proxy.cache.replay import Replayed, collect, replayed
from llm_proxy.config.models import GatewayConfig, SemanticCache
from llm_proxy.identity import Identity
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.settle import charge
from llm_proxy.upstream.transports.base import Reply, Stream
from llm_proxy.usage import Usage

_PATH = "/v1/chat/completions"
_SHARED_SCOPE = "shared"
_MASTER_SCOPE = "master"


class CacheLookup(NamedTuple):
    """A cached answer, or what the write after a miss needs (None: not cached at all)."""

    answer: Reply | Stream | None
    request: CacheRequest | None


# A request the cache does not see at all: nothing to answer with, nothing to write after.
NOT_CACHED = CacheLookup(None, None)


@dataclass(frozen=True, slots=True)
class _Settings:
    """What a lookup's plan reads of one config: its attributes are read once, not on each
    request (each read of a pydantic model's field is an attribute hook call)."""

    config: GatewayConfig
    # On, and the chat completions path is not excluded: the only API that is cached.
    chat_cached: bool
    aliases: dict[str, str]
    excluded_models: frozenset[str]
    shared_groups: frozenset[str]
    semantic: SemanticCache

    @classmethod
    def of(cls, config: GatewayConfig) -> _Settings:
        cache = config.cache
        return cls(
            config,
            cache.enabled and _PATH not in cache.excluded_paths,
            config.routing.aliases,
            frozenset(cache.excluded_models),
            frozenset(cache.shared_groups),
            cache.semantic,
        )


class CacheStage:
    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache
        self._settings: _Settings | None = None

    async def lookup(self, ctx: RequestContext, config: GatewayConfig) -> CacheLookup:
        request = self._plan(ctx, config)
        if request is None:
            return NOT_CACHED
        found = await self.cache.lookup(request)
        if found is None:
            ctx.cache_result = "miss"
            return CacheLookup(None, request)
        ctx.cache_result = (
            "hit" if found.similarity is None else f"semantic;sim={found.similarity:.2f}"
        )
        ctx.cost_saved_usd = found.cost_usd
        self.cache.count("saved_usd", found.cost_usd)
        return CacheLookup(self._answer(ctx, found), None)

    def remember(
        self, ctx: RequestContext, lookup: CacheLookup, result: Reply | Stream
    ) -> Reply | Stream:
        """Store a fresh answer once it is whole; a stream is collected as it passes."""
        request = lookup.request
        if request is None:
            return result
        if isinstance(result, Reply):
            # Written in the background, after settle has costed the answer.
            self.cache.store(request, result.body, lambda: ctx.cost_usd)
            return result
        return self._recording(ctx, request, result)

    def _plan(self, ctx: RequestContext, config: GatewayConfig) -> CacheRequest | None:
        settings = self._settings_of(config)
        if not settings.chat_cached or ctx.api != "chat":
            return None
        requested = ctx.requested_model
        model = settings.aliases.get(requested, requested)
        excluded = settings.excluded_models
        if (
            (excluded and (requested in excluded or model in excluded))
            or _bypass_asked(ctx)
            or tool_calls_in_flight(ctx.body.get("messages") or [])
        ):
            ctx.cache_result = "bypass"
            self.cache.count("bypassed")
            return None
        team = _SHARED_SCOPE if model in settings.shared_groups else cache_scope(ctx.identity)
        # Answers made under a residency policy are found only by requests bound to the
        # same regions: an answer from abroad is never served where it may not be made.
        scope = team if ctx.residency is None else f"{team}@{ctx.residency.scope}"
        semantic = settings.semantic
        prompt = (
            semantic_prompt(scope, model, ctx.body, semantic.max_temperature)
            if semantic.enabled
            else None
        )
        threshold = semantic.thresholds.get(model, semantic.threshold)
        return CacheRequest(team, exact_key(scope, model, ctx.body), prompt, threshold)

    def _settings_of(self, config: GatewayConfig) -> _Settings:
        """The config's cache settings as a plan reads them, made again after a reload (the
        config is frozen: the same object always reads the same)."""
        settings = self._settings
        if settings is None or settings.config is not config:
            settings = self._settings = _Settings.of(config)
        return settings

    def _answer(self, ctx: RequestContext, found: Found) -> Reply | Stream:
        if not ctx.stream:
            return Reply(found.body, Usage())
        options = ctx.body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        frames, model = replayed(found.body, include_usage)
        return Stream(events=Replayed(frames), model=model, completed=True)

    def _recording(self, ctx: RequestContext, request: CacheRequest, stream: Stream) -> Stream:
        events, sent = stream.events, []

        async def recorded() -> AsyncIterator[bytes]:
            try:
                async for frame in events:
                    sent.append(frame)
                    yield frame
            finally:
                aclose = getattr(events, "aclose", None)
                if aclose is not None:
                    await aclose()
            if stream.completed:
                completion = collect(b"".join(sent), stream.usage)
                if completion is not None:
                    # Final once the stream completed; settle charges this same usage next.
                    charge(ctx, stream.usage)
                    self.cache.store(request, orjson.dumps(completion), lambda: ctx.cost_usd)

        stream.events = recorded()
        return stream


def cache_scope(identity: Identity) -> str:
    """Whose answers a caller shares: its team's, else its own key's (ids never collide:
    `team_…`, `key_…`), else the master key's."""
    return identity.team_id or identity.key_id or _MASTER_SCOPE


def _bypass_asked(ctx: RequestContext) -> bool:
    headers = ctx.headers
    control = headers.get("cache-control", "")
    if "no-cache" in control or "no-store" in control:
        return True
    return headers.get("x-gateway-cache", "").lower() == "bypass" or bool(
        ctx.metadata.get("bypass_cache")
    )
