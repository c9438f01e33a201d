"""A stateless service on Kubernetes: the one component every service of the gateway uses.

Deployment, Service, HorizontalPodAutoscaler (v2), PodDisruptionBudget, NetworkPolicy, and
the ConfigMap (files) and Secret (environment) the pods read. What differs between services
is in `ServiceSpec`; the invariants are here, once: a numeric non-root user, no privilege
escalation, a read-only root filesystem with named writable directories, requests and
limits, liveness and readiness probes, and ingress only from the components named in
`allowed_from` (none: no ingress at all).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from gateway_infra.network import PART_OF, component_labels, only_from
from gateway_infra.settings import Size


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    port: int
    size: Size
    args: Sequence[str] = ()
    liveness_path: str = "/health"
    readiness_path: str = "/ready"
    # Seconds a slow start (loading models) may take before liveness counts.
    startup_s: int = 60
    env: Mapping[str, str] = field(default_factory=dict)
    # Becomes the Secret the pods take their environment from (envFrom).
    secret_env: pulumi.Input[Mapping[str, pulumi.Input[str]]] | None = None
    # File name -> text: the ConfigMap, mounted read-only at config_dir.
    config_files: Mapping[str, str] = field(default_factory=dict)
    config_dir: str = "/etc/config"
    # The only writable paths (emptyDir): the root filesystem is read-only.
    writable_dirs: Sequence[str] = ("/tmp",)
    # Components whose pods may open connections to this one's port.
    allowed_from: Sequence[str] = ()
    user_id: int = 10001


class StatelessService(pulumi.ComponentResource):
    def __init__(
        self, spec: ServiceSpec, namespace: str, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("llm-gateway:index:StatelessService", spec.name, None, opts)
        self.spec = spec
        child = pulumi.ResourceOptions(parent=self)
        labels = {**PART_OF, "app.kubernetes.io/name": spec.name, **component_labels(spec.name)}
        metadata = {"name": spec.name, "namespace": namespace, "labels": labels}
        self.config_map = (
            k8s.core.v1.ConfigMap(
                f"{spec.name}-config",
                metadata={**metadata, "name": f"{spec.name}-config"},
                data=dict(spec.config_files),
                opts=child,
            )
            if spec.config_files
            else None
        )
        self.secret = (
            k8s.core.v1.Secret(
                f"{spec.name}-env",
                metadata={**metadata, "name": f"{spec.name}-env"},
                type="Opaque",
                string_data=pulumi.Output.secret(spec.secret_env),
                opts=child,
            )
            if spec.secret_env is not None
            else None
        )
        self.deployment = k8s.apps.v1.Deployment(
            spec.name,
            metadata=metadata,
            spec=self._deployment_spec(spec, labels),
            # The HPA owns the replica count once it runs.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["spec.replicas"]),
        )
        self.service = k8s.core.v1.Service(
            spec.name,
            metadata=metadata,
            spec={
                "type": "ClusterIP",
                "selector": component_labels(spec.name),
                "ports": [{"name": "http", "port": spec.port, "target_port": "http"}],
            },
            opts=child,
        )
        self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
            spec.name,
            metadata=metadata,
            spec={
                "scale_target_ref": {
                    "api_version": "apps/v1",
                    "kind": "Deployment",
                    "name": spec.name,
                },
                "min_replicas": spec.size.replicas,
                "max_replicas": spec.size.max_replicas,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {"type": "Utilization", "average_utilization": 70},
                        },
                    }
                ],
            },
            opts=child,
        )
        # Two or more replicas: keep one serving through a drain; one: let a drain proceed.
        budget = {"min_available": 1} if spec.size.replicas >= 2 else {"max_unavailable": 1}
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            spec.name,
            metadata=metadata,
            spec={"selector": {"match_labels": component_labels(spec.name)}, **budget},
            opts=child,
        )
        self.network_policy = only_from(
            spec.name, namespace, spec.port, spec.allowed_from, opts=child
        )
        self.register_outputs({"service": self.service.metadata.name})

    def _deployment_spec(self, spec: ServiceSpec, labels: dict[str, str]) -> dict[str, object]:
        volumes: list[dict[str, object]] = []
        mounts: list[dict[str, object]] = []
        for index, path in enumerate(spec.writable_dirs):
            volumes.append({"name": f"writable-{index}", "empty_dir": {}})
            mounts.append({"name": f"writable-{index}", "mount_path": path})
        annotations = {}
        if self.config_map is not None:
            volumes.append({"name": "config", "config_map": {"name": f"{spec.name}-config"}})
            mounts.append({"name": "config", "mount_path": spec.config_dir, "read_only": True})
            # A changed config rolls the pods (a ConfigMap update alone does not).
            digest = hashlib.sha256(repr(sorted(spec.config_files.items())).encode()).hexdigest()
            annotations["llm-gateway/config-sha256"] = digest
        container: dict[str, object] = {
            "name": spec.name,
            "image": spec.image,
            "args": list(spec.args),
            "ports": [{"name": "http", "container_port": spec.port, "protocol": "TCP"}],
            "env": [{"name": k, "value": v} for k, v in spec.env.items()],
            "resources": {
                "requests": {"cpu": spec.size.cpu, "memory": spec.size.memory},
                "limits": {"cpu": spec.size.cpu_limit, "memory": spec.size.memory_limit},
            },
            "startup_probe": _probe(spec.liveness_path, period_s=2, failures=spec.startup_s // 2),
            "liveness_probe": _probe(spec.liveness_path, period_s=10, failures=3),
            "readiness_probe": _probe(spec.readiness_path, period_s=5, failures=2),
            "security_context": {
                "run_as_non_root": True,
                "run_as_user": spec.user_id,
                "run_as_group": spec.user_id,
                "allow_privilege_escalation": False,
                "read_only_root_filesystem": True,
                "capabilities": {"drop": ["ALL"]},
            },
            "volume_mounts": mounts,
        }
        if self.secret is not None:
            container["env_from"] = [{"secret_ref": {"name": f"{spec.name}-env"}}]
        return {
            "replicas": spec.size.replicas,
            "selector": {"match_labels": component_labels(spec.name)},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "automount_service_account_token": False,
                    "security_context": {
                        "run_as_non_root": True,
                        "run_as_user": spec.user_id,
                        "run_as_group": spec.user_id,
                        "fs_group": spec.user_id,
                        "seccomp_profile": {"type": "RuntimeDefault"},
                    },
                    # llm-proxy drains in-flight requests and the spend queue on SIGTERM.
                    "termination_grace_period_seconds": 45,
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        }


def _probe(path: str, *, period_s: int, failures: int) -> dict[str, object]:
    return {
        "http_get": {"path": path, "port": "http"},
        "period_seconds": period_s,
        "timeout_seconds": 2,
        "failure_threshold": max(failures, 1),
    }
