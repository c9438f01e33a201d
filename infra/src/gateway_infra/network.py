"""Who may connect to whom: one NetworkPolicy per component, ingress from named peers only.

A component's pods carry `llm-gateway/component: <name>` (ours directly, the charts' through
their podLabels values); a policy selects them and admits connections to one port from the
pods of the peers it names, and from nothing else (no peers: no ingress at all).
"""

from __future__ import annotations

from collections.abc import Sequence

import pulumi
import pulumi_kubernetes as k8s

COMPONENT_LABEL = "llm-gateway/component"
PART_OF = {"app.kubernetes.io/part-of": "llm-gateway"}


def component_labels(name: str) -> dict[str, str]:
    return {COMPONENT_LABEL: name}


def only_from(
    name: str,
    namespace: str,
    port: int,
    peers: Sequence[str],
    opts: pulumi.ResourceOptions | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    rules = [
        {
            "from": [{"pod_selector": {"match_labels": component_labels(p)}} for p in peers],
            "ports": [{"protocol": "TCP", "port": port}],
        }
    ]
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata={"name": name, "namespace": namespace, "labels": PART_OF},
        spec={
            "pod_selector": {"match_labels": component_labels(name)},
            "policy_types": ["Ingress"],
            "ingress": rules if peers else [],
        },
        opts=opts,
    )
