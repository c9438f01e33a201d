"""A Redis client on a bounded pool with short timeouts: what the request path's stores use.

Bounded, so a burst queues for a connection instead of opening hundreds at once (which on a
busy loop would time out and fail for no reason); short timeouts, so a dead Redis costs a
request milliseconds, not a hang.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis


def bounded_redis(url: str, max_connections: int, timeout_s: float) -> Redis:
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )
    return Redis(connection_pool=pool)
