"""Redis clients for the gateway's stores: one server, or a Redis Cluster, named by `redis.url`.

`redis://` / `rediss://` (and `unix://`) is one server; `redis+cluster://host:port` (or
`rediss+cluster://`) is a Redis Cluster reached through any of its nodes, which tells the
client the rest. Every store hash-tags its keys (`{<prefix>limits}:…`, `{<prefix>cache}:…`),
so each of its Lua scripts touches one slot and works the same on both.

The request path's clients are bounded, so a burst queues for a connection instead of
opening hundreds at once (which on a busy loop would time out and fail for no reason),
and have short timeouts, so a dead Redis costs a request milliseconds, not a hang.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

# One client type for both: they offer the same commands, scripts and pipelines.
RedisClient = Redis | RedisCluster

CLUSTER_SCHEMES = ("redis+cluster://", "rediss+cluster://")
SCHEMES = ("redis://", "rediss://", "unix://", *CLUSTER_SCHEMES)


def is_cluster(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEMES)


def open_redis(url: str, timeout_s: float | None = None) -> RedisClient:
    """A client without a bound on its connections (`timeout_s`: its socket timeouts)."""
    if is_cluster(url):
        return RedisCluster.from_url(
            _server_url(url), socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
    return Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)


def signal_redis(url: str) -> Redis:
    """A client for pub/sub signals: on a cluster, the node its URL names. Redis Cluster
    carries a PUBLISH to every node, so subscribers on one node hear publishers on any."""
    return Redis.from_url(_server_url(url) if is_cluster(url) else url)


def bounded_redis(url: str, max_connections: int, timeout_s: float) -> RedisClient:
    if is_cluster(url):
        # Per node; a cluster client raises past it instead of waiting, so a burst's
        # worth of connections is allowed before that.
        return RedisCluster.from_url(
            _server_url(url),
            max_connections=max_connections * 8,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
        )
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout_s,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )
    return Redis(connection_pool=pool)


def serial_redis(url: str, timeout_s: float) -> RedisClient:
    """A client for calls that are never on the wire two at a time (the limits' reserves
    and settles): one connection, kept, so a call skips the pool's wait-and-timeout dance
    (measured: ~20 µs of CPU per round trip). It reconnects after a failure. On a
    cluster, the cluster client (its connections are per node)."""
    if is_cluster(url):
        return bounded_redis(url, 1, timeout_s)
    return Redis.from_url(
        url,
        single_connection_client=True,
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
    )


def _server_url(url: str) -> str:
    """What redis-py's cluster client reads: the same URL with its plain scheme."""
    return url.replace("+cluster://", "://", 1)
