"""The whole gateway on Kubernetes, composed from the stack's settings.

Kong (Helm) → llm-proxy → router-service, optimizer (whose sub-calls come back to
llm-proxy), Postgres and Redis (charts or external), and in stacks that ask for it the
upstream simulator. Every service of ours is one
`StatelessService`; the differences between them are the arguments below.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import yaml

from gateway_infra import datastores, kong
from gateway_infra.network import PART_OF
from gateway_infra.service import ServiceSpec, StatelessService
from gateway_infra.settings import Settings, load

LLM_PROXY_PORT = 4000
ROUTER_PORT = 8081
OPTIMIZER_PORT = 8082
SIMULATOR_PORT = 9000
CONFIG_DIR = "/etc/llm-proxy"
STATE_DIR = "/var/lib/llm-proxy"


def deploy() -> dict[str, StatelessService]:
    settings = load()
    namespace = settings.namespace
    k8s.core.v1.Namespace(
        namespace,
        metadata={
            "name": namespace,
            # Pods that break the restricted profile (root, privilege escalation) are refused.
            "labels": {**PART_OF, "pod-security.kubernetes.io/enforce": "restricted"},
        },
    )
    postgres = datastores.postgres(
        settings.postgres, namespace, settings.secrets.postgres_password, ["llm-proxy"]
    )
    redis = datastores.redis(settings.redis, namespace, ["llm-proxy", "kong"])
    if settings.otlp_host:
        # kong.yaml sends Kong's traces to otel-collector:4318; so does llm-proxy.
        k8s.core.v1.Service(
            "otel-collector",
            metadata={"name": "otel-collector", "namespace": namespace, "labels": PART_OF},
            spec={"type": "ExternalName", "external_name": settings.otlp_host},
        )
    services = {
        "router-service": StatelessService(
            ServiceSpec(
                name="router-service",
                image=settings.image("router-service"),
                port=ROUTER_PORT,
                size=settings.sizes["router-service"],
                args=["router-service", "serve", "--host", "0.0.0.0", "--port", str(ROUTER_PORT)],
                readiness_path="/health",
                startup_s=180,
                env={"HF_HUB_OFFLINE": "1", "HF_HOME": "/tmp/huggingface"},
                allowed_from=["llm-proxy"],
            ),
            namespace,
        ),
        "optimizer": StatelessService(
            ServiceSpec(
                name="optimizer",
                image=settings.image("optimizer"),
                port=OPTIMIZER_PORT,
                size=settings.sizes["optimizer"],
                args=["optimizer", "serve", "--host", "0.0.0.0", "--port", str(OPTIMIZER_PORT)],
                readiness_path="/health",
                # Every sub-call goes back through llm-proxy, as the requests' own credential.
                env={"OPTIMIZER_GATEWAY_URL": f"http://llm-proxy:{LLM_PROXY_PORT}/v1"},
                allowed_from=["llm-proxy"],
            ),
            namespace,
        ),
    }
    if settings.simulator:
        services["simulator"] = StatelessService(
            ServiceSpec(
                name="simulator",
                image=settings.image("llm-proxy"),
                port=SIMULATOR_PORT,
                size=settings.sizes["simulator"],
                args=[
                    "python",
                    "-m",
                    "llm_proxy.simulator",
                    "--host",
                    "0.0.0.0",
                    "--port",
                    str(SIMULATOR_PORT),
                ],
                readiness_path="/health",
                allowed_from=["llm-proxy"],
            ),
            namespace,
        )
    services["llm-proxy"] = StatelessService(
        ServiceSpec(
            name="llm-proxy",
            image=settings.image("llm-proxy"),
            port=LLM_PROXY_PORT,
            size=settings.sizes["llm-proxy"],
            args=[
                "llm-proxy",
                "serve",
                "--config",
                f"{CONFIG_DIR}/gateway.yaml",
                "--host",
                "0.0.0.0",
            ],
            env=_llm_proxy_env(settings),
            secret_env=_llm_proxy_secrets(settings),
            config_files={"gateway.yaml": gateway_yaml(settings, postgres, redis)},
            config_dir=CONFIG_DIR,
            writable_dirs=["/tmp", STATE_DIR],
            # Clients through Kong; the optimizer's sub-calls, which must be counted here.
            allowed_from=["kong", "optimizer"],
        ),
        namespace,
    )
    kong.edge(
        namespace,
        settings.secrets.edge_secret,
        settings.sizes["kong"],
        settings.kong_service_type,
    )
    pulumi.export("namespace", namespace)
    pulumi.export("llmProxy", f"http://llm-proxy.{namespace}.svc:{LLM_PROXY_PORT}")
    return services


def gateway_yaml(settings: Settings, postgres: str, redis: str) -> str:
    """llm-proxy's config: references to the environment only, never a secret value."""
    backends = list(settings.backends)
    if settings.simulator:
        endpoint = f"http://simulator:{SIMULATOR_PORT}/v1"
        backends += [
            {"name": f"sim-{m}", "provider": "simulator", "endpoint": endpoint, "model": m}
            for m in ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")
        ]
    config = {
        "gateway": {
            "listen": {"host": "0.0.0.0", "port": LLM_PROXY_PORT},
            "master_key_ref": "env:GATEWAY_MASTER_KEY",
            "edge_secret_ref": "env:GATEWAY_EDGE_SECRET",
        },
        # The password reaches libpq as PGPASSWORD, from the Secret.
        "database": {
            "url": f"postgresql+psycopg://{datastores.USER}@{postgres}:"
            f"{settings.postgres.port}/{datastores.DATABASE}"
        },
        "redis": {"url": f"redis://{redis}:{settings.redis.port}/0"},
        "spend": {"spool_dir": f"{STATE_DIR}/spool"},
        "backends": backends,
        "routing": {"router_service": {"url": f"http://router-service:{ROUTER_PORT}"}},
        "optimizer": {"url": f"http://optimizer:{OPTIMIZER_PORT}"},
        "observability": {"tracing": bool(settings.otlp_host)},
    }
    for section, values in settings.gateway_config.items():
        config[section] = {**config.get(section, {}), **values}
    return yaml.safe_dump(config, sort_keys=False)


def _llm_proxy_env(settings: Settings) -> dict[str, str]:
    env = {"GATEWAY_WORKERS": str(settings.gateway_workers), "OTEL_SERVICE_NAME": "llm-proxy"}
    if settings.otlp_host:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://otel-collector:4318"
    return env


def _llm_proxy_secrets(settings: Settings) -> pulumi.Output[dict[str, str]]:
    secrets = settings.secrets
    return pulumi.Output.all(
        secrets.master_key, secrets.edge_secret, secrets.postgres_password, secrets.provider_keys
    ).apply(
        lambda values: {
            **values[3],
            "GATEWAY_MASTER_KEY": values[0],
            "GATEWAY_EDGE_SECRET": values[1],
            "PGPASSWORD": values[2],
        }
    )
