"""PostgreSQL and Redis: Bitnami charts in the namespace, or endpoints outside it.

Either way each is reached by one in-namespace name, `postgres` and `redis` (the names
kong/kong.yaml and llm-proxy's gateway.yaml use): the chart's own Service, a Service over
the chart's pods, or an ExternalName to the external host. In chart mode the charts' pods get
our NetworkPolicy: only llm-proxy reaches Postgres; only llm-proxy and Kong (its
rate-limiting counters) reach Redis. The Postgres password is a stack secret handed to the
chart through a Secret of ours; Redis runs without a password, closed by that policy,
because gateway.yaml's `redis.url` takes no secret reference yet.
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

from gateway_infra.network import PART_OF, component_labels, only_from
from gateway_infra.settings import Datastore

BITNAMI = "oci://registry-1.docker.io/bitnamicharts"
POSTGRES_CHART = ("postgresql", "16.7.21")
REDIS_CHART = ("redis", "21.2.13")
DATABASE = "gateway"
USER = "gateway"


def postgres(
    store: Datastore, namespace: str, password: pulumi.Output[str], allowed_from: Sequence[str]
) -> str:
    """Postgres as `postgres:<port>`; returns the host name clients use."""
    if store.mode == "external":
        _external_name("postgres", store, namespace)
        return "postgres"
    secret = k8s.core.v1.Secret(
        "postgres-auth",
        metadata={"name": "postgres-auth", "namespace": namespace, "labels": PART_OF},
        type="Opaque",
        string_data={"password": password, "postgres-password": password},
    )
    k8s.helm.v3.Release(
        "postgres",
        name="postgres",
        namespace=namespace,
        chart=f"{BITNAMI}/{POSTGRES_CHART[0]}",
        version=POSTGRES_CHART[1],
        values={
            "fullnameOverride": "postgres",
            "auth": {"username": USER, "database": DATABASE, "existingSecret": "postgres-auth"},
            "primary": {
                "podLabels": component_labels("postgres"),
                "persistence": {"size": store.storage},
                "networkPolicy": {"enabled": False},
            },
        },
        opts=pulumi.ResourceOptions(depends_on=[secret]),
    )
    only_from("postgres", namespace, store.port, allowed_from)
    return "postgres"


def redis(store: Datastore, namespace: str, allowed_from: Sequence[str]) -> str:
    """Redis as `redis:<port>`; returns the host name clients use."""
    if store.mode == "external":
        _external_name("redis", store, namespace)
        return "redis"
    k8s.helm.v3.Release(
        "redis",
        name="redis-store",
        namespace=namespace,
        chart=f"{BITNAMI}/{REDIS_CHART[0]}",
        version=REDIS_CHART[1],
        values={
            "architecture": "standalone",
            "auth": {"enabled": False},
            "master": {
                "podLabels": component_labels("redis"),
                "persistence": {"size": store.storage},
            },
            "networkPolicy": {"enabled": False},
        },
    )
    # The chart names its Service redis-store-master; clients use `redis`.
    k8s.core.v1.Service(
        "redis",
        metadata={"name": "redis", "namespace": namespace, "labels": PART_OF},
        spec={
            "type": "ClusterIP",
            "selector": component_labels("redis"),
            "ports": [{"name": "redis", "port": store.port, "target_port": 6379}],
        },
    )
    only_from("redis", namespace, 6379, allowed_from)
    return "redis"


def _external_name(name: str, store: Datastore, namespace: str) -> None:
    k8s.core.v1.Service(
        name,
        metadata={"name": name, "namespace": namespace, "labels": PART_OF},
        spec={"type": "ExternalName", "external_name": store.host},
    )
