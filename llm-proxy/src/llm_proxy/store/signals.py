"""Cross-replica signals: "keys, teams or tokens changed, drop what you cached", and
"a new config version exists" (one channel each).

With `redis.url` set, a change is published on `<prefix><channel>` and every gateway
process (this one included) clears its caches when the message arrives, within
milliseconds (on a Redis Cluster, through the node `redis.url` names: the cluster carries
a message to every node). Without Redis (the embedded default) the signal stays in process. A lost
subscription is re-established, and caches are cleared then too, since messages may have
been missed; the cache TTL bounds staleness in the meantime.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from llm_proxy.store.redis_pool import signal_redis

log = logging.getLogger("llm_proxy.store")

_RECONNECT_S = 0.5


class Invalidations:
    def __init__(self, redis_url: str | None, prefix: str, channel: str = "invalidate") -> None:
        self._client = signal_redis(redis_url) if redis_url else None
        self._channel = f"{prefix}{channel}"
        self._listeners: list[Callable[[], None]] = []
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def start(self) -> None:
        if self._client is None:
            return
        self._task = asyncio.ensure_future(self._listen_forever(self._client))
        # Wait briefly for the subscription, so changes made right after start are heard.
        try:
            await asyncio.wait_for(self._subscribed.wait(), timeout=2.0)
        except TimeoutError:
            log.warning("%s channel not subscribed yet; polling applies", self._channel)

    async def publish(self) -> None:
        """Announce a change. Local caches are cleared at once, remote ones on delivery."""
        self._notify()
        if self._client is None:
            return
        try:
            await self._client.publish(self._channel, b"all")
        except RedisError as exc:
            log.warning("could not publish on %s (TTL or poll applies): %s", self._channel, exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()

    def _notify(self) -> None:
        for listener in self._listeners:
            listener()

    async def _listen_forever(self, client: Redis) -> None:
        while True:
            try:
                await self._listen(client)
            except (RedisError, OSError) as exc:
                log.warning("%s channel lost, resubscribing: %s", self._channel, exc)
            self._subscribed.clear()
            await asyncio.sleep(_RECONNECT_S)

    async def _listen(self, client: Redis) -> None:
        async with client.pubsub() as pubsub:
            await pubsub.subscribe(self._channel)
            # Anything published while we were not listening is lost: start clean.
            self._notify()
            self._subscribed.set()
            async for message in pubsub.listen():
                if message.get("type") == "message":
                    self._notify()
