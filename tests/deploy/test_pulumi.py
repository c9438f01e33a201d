"""infra/'s Pulumi program for stacks dev and prod, run under Pulumi's mocks.

What `pulumi up` would send is checked: every Deployment hardened and sized, HPAs, one
PodDisruptionBudget per service, NetworkPolicies that admit only Kong to llm-proxy and only
llm-proxy to the router, the optimizer, the simulator, Postgres and Redis (llm-proxy also
admits the optimizer's sub-calls, Redis Kong's rate limiting), no secret value outside a
Secret, llm-proxy's gateway.yaml valid, Kong's chart wired to kong/kong.yaml and the edge
secret; and every manifest valid for Kubernetes 1.34 by `kubernetes-validate`, offline.
"""

from __future__ import annotations

import json
from typing import Any

import kubernetes_validate
import pytest
import yaml
from llm_proxy.config import parse_config

from tests.deploy.conftest import REPO
from tests.deploy.pulumi_stack import Declared, Stack, render

KUBERNETES_VERSION = "1.34.0"
COMPONENT = "llm-gateway/component"
# Who may open connections to whom: the issue's rule, plus what the design needs of it:
# Kong's rate limits in Redis, and the optimizer's sub-calls back through llm-proxy.
ALLOWED = {
    "llm-proxy": {"kong", "optimizer"},
    "router-service": {"llm-proxy"},
    "simulator": {"llm-proxy"},
    "optimizer": {"llm-proxy"},
    "postgres": {"llm-proxy"},
    "redis": {"llm-proxy", "kong"},
}


@pytest.fixture(scope="module", params=["dev", "prod"])
def stack(request: pytest.FixtureRequest) -> Stack:
    return _rendered()[request.param]


_CACHE: dict[str, Stack] = {}


def _rendered() -> dict[str, Stack]:
    if not _CACHE:
        for name in ("dev", "prod"):
            _CACHE[name] = render(name)
    return _CACHE


def _containers(deployment: Declared) -> list[dict[str, Any]]:
    containers: list[dict[str, Any]] = deployment.manifest["spec"]["template"]["spec"]["containers"]
    return containers


def _pod_labels(deployment: Declared) -> dict[str, str]:
    labels: dict[str, str] = deployment.manifest["spec"]["template"]["metadata"]["labels"]
    return labels


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def test_every_service_is_one_stateless_service_component(stack: Stack) -> None:
    components = {r.name for r in stack.of_type("llm-gateway:index:StatelessService")}
    deployments = {d.manifest["metadata"]["name"] for d in stack.kinds("Deployment")}
    assert components == deployments
    assert {"llm-proxy", "router-service", "optimizer"} <= components
    assert ("simulator" in components) == (stack.name == "dev")


def test_every_deployment_is_sized_probed_and_unprivileged(stack: Stack) -> None:
    for deployment in stack.kinds("Deployment"):
        pod = deployment.manifest["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] != 0
        assert pod["automountServiceAccountToken"] is False
        for container in _containers(deployment):
            name = f"{deployment.name}/{container['name']}"
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert set(resources[bound]) >= {"cpu", "memory"}, name
            assert container["livenessProbe"]["httpGet"]["path"], name
            assert container["readinessProbe"]["httpGet"]["path"], name
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["runAsNonRoot"] is True, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name


def test_autoscalers_target_their_deployments_and_prod_keeps_two(stack: Stack) -> None:
    deployments = {d.manifest["metadata"]["name"] for d in stack.kinds("Deployment")}
    autoscalers = stack.kinds("HorizontalPodAutoscaler")
    assert {a.manifest["spec"]["scaleTargetRef"]["name"] for a in autoscalers} == deployments
    for autoscaler in autoscalers:
        assert autoscaler.manifest["apiVersion"] == "autoscaling/v2"
        spec = autoscaler.manifest["spec"]
        assert spec["minReplicas"] <= spec["maxReplicas"]
        if stack.name == "prod":
            assert spec["minReplicas"] >= 2, autoscaler.name
    kong = _kong_values(stack)
    assert kong["autoscaling"]["enabled"] is True
    if stack.name == "prod":
        assert kong["autoscaling"]["minReplicas"] >= 2


def test_one_disruption_budget_per_service(stack: Stack) -> None:
    budgets = stack.kinds("PodDisruptionBudget")
    for deployment in stack.kinds("Deployment"):
        covering = [
            b for b in budgets if _selects(b.manifest["spec"]["selector"], _pod_labels(deployment))
        ]
        assert len(covering) == 1, deployment.name
        if stack.name == "prod":
            assert covering[0].manifest["spec"]["minAvailable"] == 1
    assert len(budgets) == len(stack.kinds("Deployment"))
    kong = _kong_values(stack)["podDisruptionBudget"]
    assert kong["enabled"] is True
    if stack.name == "prod":
        assert kong["minAvailable"] == 1


def _admitted(stack: Stack) -> dict[str, set[str]]:
    """For each component a NetworkPolicy selects: the components it admits."""
    admitted: dict[str, set[str]] = {}
    for policy in stack.kinds("NetworkPolicy"):
        spec = policy.manifest["spec"]
        assert spec["policyTypes"] == ["Ingress"]
        target = spec["podSelector"]["matchLabels"][COMPONENT]
        peers = set()
        for rule in spec.get("ingress", []):
            assert rule["from"], f"{target}: a rule without `from` admits everyone"
            for peer in rule["from"]:
                assert set(peer) == {"podSelector"}, f"{target}: only pods of named components"
                peers.add(peer["podSelector"]["matchLabels"][COMPONENT])
        admitted.setdefault(target, set()).update(peers)
    return admitted


def test_network_policies_admit_only_the_intended_callers(stack: Stack) -> None:
    admitted = _admitted(stack)
    for deployment in stack.kinds("Deployment"):
        component = _pod_labels(deployment)[COMPONENT]
        assert admitted[component] == ALLOWED[component], component
    in_cluster = {r.name for r in stack.of_type("kubernetes:helm.sh/v3:Release")} - {"kong"}
    for store in in_cluster:
        assert admitted[store] == ALLOWED[store], store
    assert in_cluster == ({"postgres", "redis"} if stack.name == "dev" else set())


def test_chart_pods_carry_the_labels_the_policies_select(stack: Stack) -> None:
    assert _kong_values(stack)["podLabels"] == {COMPONENT: "kong"}
    for release in stack.of_type("kubernetes:helm.sh/v3:Release"):
        values = release.inputs["values"]
        if release.name == "postgres":
            assert values["primary"]["podLabels"] == {COMPONENT: "postgres"}
        elif release.name == "redis":
            assert values["master"]["podLabels"] == {COMPONENT: "redis"}
            redis = stack.named("Service", "redis").manifest["spec"]
            assert redis["selector"] == {COMPONENT: "redis"}


def test_no_secret_value_outside_a_secret(stack: Stack) -> None:
    for resource in stack.resources:
        text = json.dumps(resource.inputs)
        for name, value in stack.secrets.items():
            if resource.kind != "Secret":
                assert value not in text, f"{name} in {resource.type} {resource.name}"
    for config_map in stack.kinds("ConfigMap"):
        assert config_map.manifest["data"]
    llm_proxy = stack.named("Secret", "llm-proxy-env").manifest["stringData"]
    assert llm_proxy["GATEWAY_MASTER_KEY"] == stack.secrets["masterKey"]
    assert llm_proxy["PGPASSWORD"] == stack.secrets["postgresPassword"]
    assert llm_proxy["OPENAI_API_KEY"] == stack.secrets["OPENAI_API_KEY"]
    edge = stack.named("Secret", "kong-edge").manifest["stringData"]
    assert edge["edge-secret"] == stack.secrets["edgeSecret"]


def test_secrets_reach_kubernetes_marked_secret(stack: Stack) -> None:
    """Taken from the stack's secrets (require_secret), not plain config: the engine keeps
    them encrypted in the state and out of previews and logs."""
    secrets = stack.kinds("Secret")
    assert {s.manifest["metadata"]["name"] for s in secrets} >= {"llm-proxy-env", "kong-edge"}
    for secret in secrets:
        values = secret.manifest["stringData"]
        marked = secret.secret_inputs
        assert "stringData" in marked or {f"stringData.{k}" for k in values} <= marked, secret.name


def test_llm_proxy_reads_its_secrets_from_its_secret(stack: Stack) -> None:
    (container,) = _containers(stack.named("Deployment", "llm-proxy"))
    assert container["envFrom"] == [{"secretRef": {"name": "llm-proxy-env"}}]
    assert "--config" in container["args"]
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert mounts["/etc/llm-proxy"]["readOnly"] is True
    assert {"/tmp", "/var/lib/llm-proxy"} <= set(mounts), "writable: temp files and the spool"


def test_llm_proxy_config_is_valid_and_holds_references_only(stack: Stack) -> None:
    text = stack.named("ConfigMap", "llm-proxy-config").manifest["data"]["gateway.yaml"]
    config = parse_config(text, "llm-proxy-config/gateway.yaml")
    assert config.gateway.master_key_ref == "env:GATEWAY_MASTER_KEY"
    assert config.gateway.edge_secret_ref == "env:GATEWAY_EDGE_SECRET"
    assert config.redis.url == "redis://redis:6379/0"
    assert config.database.url.startswith("postgresql+psycopg://gateway@postgres:5432/")
    assert all(b.api_key_ref is None or b.api_key_ref.startswith("env:") for b in config.backends)
    assert config.routing.router_service.url == "http://router-service:8081"
    assert config.optimizer.url == "http://optimizer:8082"
    (optimizer,) = _containers(stack.named("Deployment", "optimizer"))
    assert {"name": "OPTIMIZER_GATEWAY_URL", "value": "http://llm-proxy:4000/v1"} in optimizer[
        "env"
    ]
    deployment = stack.named("Deployment", "llm-proxy").manifest["spec"]["template"]
    assert deployment["metadata"]["annotations"]["llm-gateway/config-sha256"]


def test_kong_is_the_chart_db_less_with_our_kong_yaml(stack: Stack) -> None:
    (release,) = [r for r in stack.of_type("kubernetes:helm.sh/v3:Release") if r.name == "kong"]
    assert release.inputs["chart"] == "kong" and release.inputs["version"]
    values = _kong_values(stack)
    assert values["env"]["database"] == "off"
    assert "resty.sha256" in values["env"]["untrusted_lua_sandbox_requires"]
    assert values["ingressController"]["enabled"] is False
    assert values["admin"]["enabled"] is False
    declarative = stack.named("ConfigMap", values["dblessConfig"]["configMap"]).manifest["data"]
    assert declarative["kong.yml"] == (REPO / "kong" / "kong.yaml").read_text()
    reference = values["customEnv"]["gateway_edge_secret"]["valueFrom"]["secretKeyRef"]
    assert reference["key"] in stack.named("Secret", reference["name"]).manifest["stringData"]


def test_what_kong_yaml_names_exists_in_the_namespace(stack: Stack) -> None:
    document = yaml.safe_load((REPO / "kong" / "kong.yaml").read_text())
    (upstream,) = document["services"]
    service = stack.named("Service", upstream["host"]).manifest["spec"]
    assert upstream["port"] in [p["port"] for p in service["ports"]]
    names = {s.manifest["metadata"]["name"] for s in stack.kinds("Service")}
    assert "redis" in names
    assert ("otel-collector" in names) == (stack.name == "prod")


def test_datastores_are_charts_in_dev_and_external_in_prod(stack: Stack) -> None:
    releases = {r.name: r.inputs for r in stack.of_type("kubernetes:helm.sh/v3:Release")}
    if stack.name == "dev":
        assert releases["postgres"]["values"]["auth"]["existingSecret"] == "postgres-auth"
        assert stack.named("Secret", "postgres-auth").manifest["stringData"]["password"]
        assert releases["redis"]["version"]
    else:
        for name in ("postgres", "redis"):
            spec = stack.named("Service", name).manifest["spec"]
            assert spec["type"] == "ExternalName" and spec["externalName"].endswith(".example.com")


def test_every_manifest_is_valid_for_the_pinned_kubernetes(stack: Stack) -> None:
    manifests = [r.manifest for r in stack.resources if r.type.startswith("kubernetes:")]
    manifests = [m for m in manifests if "apiVersion" in m]
    assert len(manifests) >= 15
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_validator_rejects_a_broken_manifest() -> None:
    deployment = dict(_rendered()["dev"].named("Deployment", "llm-proxy").manifest)
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)
    unknown = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(unknown, KUBERNETES_VERSION, strict=True)


def _kong_values(stack: Stack) -> dict[str, Any]:
    (release,) = [r for r in stack.of_type("kubernetes:helm.sh/v3:Release") if r.name == "kong"]
    values: dict[str, Any] = release.inputs["values"]
    return values
