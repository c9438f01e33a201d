"""What differs between stacks, read once from the stack's config (Pulumi.<stack>.yaml).

Plain settings (sizes, replicas, images, where Postgres and Redis live) come from the config;
secrets (the master key, Kong's edge secret, the Postgres password, provider keys) only from
the stack's secrets (`pulumi config set --secret`), and stay `Output`s marked secret, so
they reach Kubernetes Secrets and never a ConfigMap or the program's plain outputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi

Mode = Literal["chart", "external"]


@dataclass(frozen=True)
class Size:
    """One service's replicas and resources."""

    replicas: int
    max_replicas: int
    cpu: str
    memory: str
    cpu_limit: str
    memory_limit: str

    @classmethod
    def parse(cls, data: dict[str, Any]) -> Size:
        size = cls(
            replicas=int(data["replicas"]),
            max_replicas=int(data.get("maxReplicas", data["replicas"])),
            cpu=str(data["cpu"]),
            memory=str(data["memory"]),
            cpu_limit=str(data.get("cpuLimit", data["cpu"])),
            memory_limit=str(data.get("memoryLimit", data["memory"])),
        )
        if size.replicas < 1 or size.max_replicas < size.replicas:
            raise ValueError(f"replicas {size.replicas}..{size.max_replicas}: need 1 <= min <= max")
        return size


@dataclass(frozen=True)
class Datastore:
    """Postgres or Redis: a Helm chart in the namespace, or an endpoint outside it."""

    mode: Mode
    host: str | None
    port: int
    storage: str

    @classmethod
    def parse(cls, data: dict[str, Any], default_port: int) -> Datastore:
        mode = data.get("mode", "chart")
        if mode not in ("chart", "external"):
            raise ValueError(f"mode {mode!r}: 'chart' or 'external'")
        host = data.get("host")
        if mode == "external" and not host:
            raise ValueError("an external datastore needs its host (a DNS name)")
        return cls(mode, host, int(data.get("port", default_port)), str(data.get("storage", "8Gi")))


@dataclass(frozen=True)
class Secrets:
    master_key: pulumi.Output[str]
    edge_secret: pulumi.Output[str]
    postgres_password: pulumi.Output[str]
    # Environment variable name -> value, for the backends' api_key_ref: env:NAME.
    provider_keys: pulumi.Output[dict[str, str]]


@dataclass(frozen=True)
class Settings:
    stack: str
    namespace: str
    image_registry: str
    image_tag: str
    sizes: dict[str, Size]
    gateway_workers: int
    postgres: Datastore
    redis: Datastore
    kong_service_type: str
    # gateway.yaml's backends (api_key_ref: env:NAME for the keys in provider_keys).
    backends: list[dict[str, Any]]
    # More of gateway.yaml (routing, cache, limits, …), merged section by section.
    gateway_config: dict[str, dict[str, Any]]
    simulator: bool
    otlp_host: str | None
    secrets: Secrets = field(repr=False)

    def image(self, name: str) -> str:
        return f"{self.image_registry}/{name}:{self.image_tag}"


def load() -> Settings:
    config = pulumi.Config()
    sizes = {name: Size.parse(data) for name, data in config.require_object("services").items()}
    return Settings(
        stack=pulumi.get_stack(),
        namespace=config.get("namespace") or "llm-gateway",
        image_registry=config.require("imageRegistry"),
        image_tag=config.require("imageTag"),
        sizes=sizes,
        gateway_workers=config.get_int("gatewayWorkers") or 1,
        postgres=Datastore.parse(config.get_object("postgres") or {}, 5432),
        redis=Datastore.parse(config.get_object("redis") or {}, 6379),
        kong_service_type=config.get("kongServiceType") or "ClusterIP",
        backends=list(config.require_object("backends")),
        gateway_config=dict(config.get_object("gatewayConfig") or {}),
        simulator=config.get_bool("simulator") or False,
        otlp_host=config.get("otlpHost"),
        secrets=Secrets(
            master_key=config.require_secret("masterKey"),
            edge_secret=config.require_secret("edgeSecret"),
            postgres_password=config.require_secret("postgresPassword"),
            # `pulumi config set --secret --path 'providerKeys.OPENAI_API_KEY' sk-…`
            provider_keys=pulumi.Output.secret(config.get_secret_object("providerKeys") or {}),
        ),
    )
