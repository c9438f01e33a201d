"""The gateway on a real 3-master Redis Cluster: two replicas share limits, the cache, and
the signals that revoke keys and apply config versions.

The cluster is started on loopback free ports for this module (`tests/support/redis_cluster`);
the replicas reach it through one node (`redis+cluster://127.0.0.1:<port>`). Key-cache TTL and
config polling are long, so within the second these tests allow only a Redis message can
carry a revocation or a new version.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from redis.cluster import RedisCluster

from tests.reliability.conftest import backend
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway
from tests.support.redis_cluster import redis_cluster

MASTER = "sk-test-master"
PREFIX = "gwtest:cluster:"
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def cluster_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with redis_cluster(tmp_path_factory.mktemp("cluster")) as url:
        yield url


@pytest.fixture(scope="module")
def replicas(
    simulator: Simulator, cluster_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Gateway]]:
    directory = tmp_path_factory.mktemp("cluster-replicas")
    with scratch_database("cluster") as database_url:
        config: dict[str, Any] = {
            "database": {"url": database_url},
            "redis": {"url": cluster_url, "prefix": PREFIX},
            "config": {"mode": "database", "poll_interval_s": 30},
            "auth": {"key_cache_ttl_s": 300},
            "backends": [
                backend(simulator, "limited", "m-limited"),
                backend(simulator, "cached", "m-cached"),
                backend(simulator, "plain", "m-plain"),
            ],
            "routing": {"retries": {"max_attempts": 1}},
            "limits": {"rules": [{"model": "m-limited", "per": "model", "rpm": 10}]},
            "cache": {"enabled": True},
            "observability": {"request_log": False},
            "spend": {"spool_dir": str(directory / "spool")},
        }
        first = start_gateway(config, directory, MASTER, ready_timeout_s=600)
        try:
            second = start_gateway(config, directory, MASTER, ready_timeout_s=600)
            yield first, second
            second.stop()
        finally:
            first.stop()


def chat(gw: Gateway, model: str, key: str = MASTER, content: str = "hi") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": content}]}
    with gw.client(key) as http:
        return http.post("/v1/chat/completions", json=body)


def test_limits_hold_across_two_replicas_on_the_cluster(
    replicas: tuple[Gateway, Gateway], cluster_url: str
) -> None:
    statuses = [chat(replicas[i % 2], "m-limited").status_code for i in range(20)]
    assert statuses.count(200) == 10
    assert statuses.count(429) == 10
    # The counter is on the cluster, in the limits' slot.
    port = int(cluster_url.rsplit(":", 1)[1])
    with RedisCluster(host="127.0.0.1", port=port) as client:
        key = f"{{{PREFIX}limits}}:rule:m-limited:model:m-limited:rpm"
        assert int(client.hget(key, "t") or 0) == 10


def test_an_answer_cached_by_one_replica_is_served_by_the_other(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    asked = chat(first, "m-cached", content="what is a slot?")
    assert asked.status_code == 200 and asked.headers["x-gateway-cache"] == "miss"
    again = chat(second, "m-cached", content="what is a slot?")
    assert again.headers["x-gateway-cache"] == "hit"
    assert again.json()["choices"] == asked.json()["choices"]


def test_a_key_revoked_on_one_replica_is_refused_by_the_other_within_a_second(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    with first.client(MASTER) as http:
        issued = http.post("/admin/keys", json={"name": "on-the-cluster"}).json()
    assert chat(second, "m-plain", issued["key"]).status_code == 200  # cached by the second
    with first.client(MASTER) as http:
        assert http.post(f"/admin/keys/{issued['id']}/revoke").status_code == 200
    revoked_at = time.monotonic()
    status = 200
    while time.monotonic() - revoked_at < 1.0 and status == 200:
        status = chat(second, "m-plain", issued["key"]).status_code
    assert status == 401


def test_a_config_version_made_on_one_replica_is_applied_by_the_other_within_a_second(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    rules = [
        {"model": "m-limited", "per": "model", "rpm": 10},
        {"model": "m-plain", "per": "model", "rpm": 1000},
    ]
    with first.client(MASTER) as http:
        written = http.put("/admin/limits/rules", json={"rules": rules})
        assert written.status_code == 200, written.text
        version = http.get("/admin/config").json()["version"]
    started = time.monotonic()
    with second.client(MASTER) as http:
        while http.get("/admin/config").json()["applied_version"] != version:
            assert time.monotonic() - started < 1.0, "the new version was not signalled"
            time.sleep(0.01)
        assert http.get("/admin/limits/rules").json()["rules"][1]["rpm"] == 1000
