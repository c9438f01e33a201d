"""docker-compose.yml and docker-compose.embedded.yml, checked without a Docker engine.

Against the compose specification's JSON schema (check-jsonschema's vendored copy), then
what the schema cannot see: every dependency, network, volume, mounted file and build
input exists; health-gated dependencies have health checks; host ports do not collide;
every variable is in .env.example; and every address a service's config names (Kong's
kong.yaml, llm-proxy's gateway.yaml, Prometheus, Grafana, the collector) is a service on a
network the two share, at a port that service listens on.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from llm_proxy.config import load_config

from tests.deploy import compose
from tests.deploy.conftest import REPO, VENV_BIN

FILES = [REPO / "docker-compose.yml", REPO / "docker-compose.embedded.yml"]
ENV_EXAMPLE = REPO / ".env.example"
_ADDRESS = re.compile(r"(?:[a-z+]+://)?(?:[^@/\s\"']+@)?(?P<host>[a-z][a-z0-9-]*):(?P<port>\d+)")


def _check_schema(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _filled_env() -> dict[str, str]:
    """.env.example with its blanks (the secrets) filled, as a user's .env would be."""
    return {k: v or f"test-{k.lower()}" for k, v in compose.read_env_file(ENV_EXAMPLE).items()}


def _stack(path: Path) -> dict[str, Any]:
    return compose.load(path, _filled_env())


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_compose_file_matches_the_compose_spec(path: Path) -> None:
    result = _check_schema(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_rejects_a_broken_file(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(
        "services:\n  web:\n    image: nginx:1.27\n    healthcheck: {test: 5}\n"
        "    depends_ons: [db]\n"
    )
    result = _check_schema(broken)
    assert result.returncode != 0
    assert "depends_ons" in result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_reference_resolves(path: Path) -> None:
    stack = _stack(path)
    services: dict[str, Any] = stack["services"]
    declared_networks = set(stack.get("networks", {})) | {"default"}
    declared_volumes = set(stack.get("volumes", {}))
    used_volumes = set()
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no health check"
        assert compose.networks(service) <= declared_networks, name
        for volume in compose.named_volumes(service):
            assert volume in declared_volumes, f"{name}: undeclared volume {volume}"
            used_volumes.add(volume)
        for source in compose.bind_sources(service):
            assert (path.parent / source).exists(), f"{name}: {source} does not exist"
        if "build" in service:
            build = service["build"]
            assert (path.parent / build["context"] / build["dockerfile"]).is_file(), name
    assert used_volumes == declared_volumes, "a named volume no service uses"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_long_running_service_has_a_health_check_or_says_why(path: Path) -> None:
    text = path.read_text()
    for name, service in _stack(path)["services"].items():
        if "healthcheck" not in service:
            # The one exception must carry its reason next to it.
            block = text[text.index(f"\n  {name}:") - 200 : text.index(f"\n  {name}:")]
            assert "no shell" in block, f"{name} has no health check and no reason given"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_host_ports_do_not_collide(path: Path) -> None:
    published = [p for s in _stack(path)["services"].values() for p in compose.host_ports(s)]
    assert published, "nothing is reachable from the host"
    ports = Counter(port for _, port in published)
    assert [port for port, n in ports.items() if n > 1] == []


def test_only_kongs_proxy_listens_beyond_loopback() -> None:
    stack = _stack(REPO / "docker-compose.yml")
    for name, service in stack["services"].items():
        for address, _ in compose.host_ports(service):
            assert address == "127.0.0.1" or name == "kong", name


def test_every_variable_is_in_the_one_env_example() -> None:
    documented = set(compose.read_env_file(ENV_EXAMPLE))
    for path in FILES:
        missing = compose.variables(path.read_text()) - documented
        assert not missing, f"{path.name}: {sorted(missing)} not in .env.example"


def test_secrets_are_required_not_defaulted() -> None:
    """A stack started without its secrets stops with the variable's name, never runs open."""
    for secret in ("GATEWAY_MASTER_KEY", "GATEWAY_EDGE_SECRET", "POSTGRES_PASSWORD"):
        without = {k: v for k, v in _filled_env().items() if k != secret}
        with pytest.raises(ValueError, match=secret):
            compose.load(REPO / "docker-compose.yml", without)


def test_the_torch_wheel_the_images_install_is_the_locked_one() -> None:
    locked = re.findall(r"torch-2\.13\.0\+cpu-[^\"/]+\.whl", (REPO / "uv.lock").read_text())
    assert locked
    for dockerfile in (REPO / "llm-proxy" / "Dockerfile", REPO / "router-service" / "Dockerfile"):
        assert f"COPY --from=torch-wheel {locked[0]} " in dockerfile.read_text()


def _addresses(service_name: str, service: dict[str, Any], root: Path) -> list[tuple[str, int]]:
    """The host:port pairs a service's mounted configs and environment point at."""
    texts = [str(v) for v in service.get("environment", {}).values()]
    for source in compose.bind_sources(service):
        mounted = root / source
        for file in sorted(mounted.rglob("*")) if mounted.is_dir() else [mounted]:
            if file.name == "kong.yaml":
                texts += _kong_addresses(file)
            elif file.is_file():
                texts.append(file.read_text())
    found = []
    for text in texts:
        found += [(m["host"], int(m["port"])) for m in _ADDRESS.finditer(text)]
    return found


def _kong_addresses(path: Path) -> list[str]:
    document = yaml.safe_load(path.read_text())
    addresses = [f"{s['host']}:{s['port']}" for s in document["services"]]
    scoped = [p for s in document["services"] for p in s.get("plugins", [])]
    scoped += [p for s in document["services"] for r in s["routes"] for p in r.get("plugins", [])]
    for plugin in scoped:
        redis = plugin.get("config", {}).get("redis")
        if redis:
            addresses.append(f"{redis['host']}:{redis['port']}")
    addresses += [str(p.get("config", {})) for p in document.get("plugins", [])]
    return addresses


def test_every_address_in_a_config_reaches_a_listening_service_on_a_shared_network() -> None:
    path = REPO / "docker-compose.yml"
    services = _stack(path)["services"]
    checked = set()
    for name, service in services.items():
        for host, port in _addresses(name, service, path.parent):
            if host not in services:
                continue  # 127.0.0.1 and the like: the service's own address
            target = services[host]
            assert compose.networks(service) & compose.networks(target), f"{name} → {host}"
            assert str(port) in target.get("expose", []), f"{name} → {host}:{port}"
            checked.add((name, host))
    # The paths the stack depends on were all seen (the scan did not silently find nothing).
    assert {
        ("kong", "llm-proxy"),
        ("kong", "redis"),
        ("kong", "otel-collector"),
        ("llm-proxy", "postgres"),
        ("llm-proxy", "redis"),
        ("llm-proxy", "router-service"),
        ("llm-proxy", "optimizer"),
        ("optimizer", "llm-proxy"),
        ("llm-proxy", "simulator"),
        ("llm-proxy", "otel-collector"),
        ("otel-collector", "jaeger"),
        ("prometheus", "llm-proxy"),
        ("prometheus", "kong"),
        ("grafana", "prometheus"),
    } <= checked


def test_backend_services_are_not_on_kongs_network() -> None:
    services = _stack(REPO / "docker-compose.yml")["services"]
    for name in ("postgres", "router-service", "optimizer", "simulator"):
        assert not compose.networks(services["kong"]) & compose.networks(services[name]), name


def test_the_mounted_gateway_config_is_valid_and_names_no_secret() -> None:
    path = REPO / "infra" / "compose" / "gateway.yaml"
    config = load_config(path)
    assert config.gateway.master_key_ref.startswith("env:")
    assert config.gateway.edge_secret_ref and config.gateway.edge_secret_ref.startswith("env:")
    assert config.redis.url, "several workers and replicas need shared limits and cache"
    assert (
        "@postgres" in config.database.url
        and ":" not in config.database.url.split("//")[1].split("@")[0]
    )


def test_prometheus_loads_the_alert_rules_and_grafana_the_dashboard() -> None:
    services = _stack(REPO / "docker-compose.yml")["services"]
    prometheus_mounts = services["prometheus"]["volumes"]
    assert any(
        m.startswith("./infra/alerts/gateway.rules.yml:/etc/prometheus/rules/")
        for m in prometheus_mounts
    )
    config = yaml.safe_load((REPO / "infra" / "prometheus" / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yml"]
    grafana_mounts = services["grafana"]["volumes"]
    provider = yaml.safe_load(
        (
            REPO / "infra" / "grafana" / "provisioning" / "dashboards" / "llm-gateway.yaml"
        ).read_text()
    )
    folder = provider["providers"][0]["options"]["path"]
    assert f"./infra/grafana/llm-gateway.json:{folder}/llm-gateway.json:ro" in grafana_mounts
