"""Kong at the edge: the official Helm chart, DB-less, kong/kong.yaml as its ConfigMap.

The chart runs Kong as a non-root user on a read-only root filesystem (its defaults). The
ingress controller and the Admin API's Service are off: consumers reach a DB-less Kong by
`llm-proxy kong sync` against a pod (kong/README.md). The edge secret comes from a Secret
made from the stack's secret and reaches Kong's env vault as GATEWAY_EDGE_SECRET; Kong's
pods carry `llm-gateway/component: kong`, the one peer llm-proxy's NetworkPolicy admits.
"""

from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from gateway_infra.network import PART_OF, component_labels
from gateway_infra.settings import Size

CHART = ("kong", "3.4.1")
REPOSITORY = "https://charts.konghq.com"
IMAGE = ("kong", "3.9.3")
KONG_YAML = Path(__file__).resolve().parents[3] / "kong" / "kong.yaml"


def edge(
    namespace: str,
    edge_secret: pulumi.Output[str],
    size: Size,
    service_type: str,
) -> k8s.helm.v3.Release:
    config = k8s.core.v1.ConfigMap(
        "kong-declarative",
        metadata={"name": "kong-declarative", "namespace": namespace, "labels": PART_OF},
        # The chart reads the key kong.yml.
        data={"kong.yml": KONG_YAML.read_text()},
    )
    secret = k8s.core.v1.Secret(
        "kong-edge",
        metadata={"name": "kong-edge", "namespace": namespace, "labels": PART_OF},
        type="Opaque",
        string_data={"edge-secret": edge_secret},
    )
    return k8s.helm.v3.Release(
        "kong",
        name="kong",
        namespace=namespace,
        chart=CHART[0],
        version=CHART[1],
        repository_opts={"repo": REPOSITORY},
        values=_values(size, service_type),
        opts=pulumi.ResourceOptions(depends_on=[config, secret]),
    )


def _values(size: Size, service_type: str) -> dict[str, object]:
    several = size.replicas >= 2
    return {
        "image": {"repository": IMAGE[0], "tag": IMAGE[1]},
        "env": {
            "database": "off",
            "untrusted_lua_sandbox_requires": "resty.sha256,resty.string",
            "tracing_instrumentations": "all",
            "tracing_sampling_rate": "1.0",
        },
        "customEnv": {
            "gateway_edge_secret": {
                "valueFrom": {"secretKeyRef": {"name": "kong-edge", "key": "edge-secret"}}
            }
        },
        "dblessConfig": {"configMap": "kong-declarative"},
        "ingressController": {"enabled": False},
        "admin": {"enabled": False},
        "proxy": {"type": service_type},
        "podLabels": component_labels("kong"),
        "replicaCount": size.replicas,
        "resources": {
            "requests": {"cpu": size.cpu, "memory": size.memory},
            "limits": {"cpu": size.cpu_limit, "memory": size.memory_limit},
        },
        "autoscaling": {
            "enabled": True,
            "minReplicas": size.replicas,
            "maxReplicas": size.max_replicas,
        },
        "podDisruptionBudget": {"enabled": True}
        | ({"minAvailable": 1} if several else {"maxUnavailable": 1}),
    }
