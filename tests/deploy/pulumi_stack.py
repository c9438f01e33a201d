"""Runs the Pulumi program in infra/ under Pulumi's mocks and keeps what it declared.

No Pulumi CLI and no cluster: `pulumi.runtime.set_mocks` stands in for the engine, the
stack's config is read from infra/Pulumi.<stack>.yaml, the stack secrets are values made
up for the run, and every resource the program registers is recorded with its resolved
inputs, which for Kubernetes resources are the manifests `pulumi up` would send.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import pulumi
import yaml

from tests.deploy.conftest import REPO

INFRA = REPO / "infra"
PROJECT = "llm-gateway"
# How the Pulumi SDK marks a secret value on the wire.
_SECRET_SIG = "4dabf18193072939515e22adb298388d"


@dataclass(frozen=True)
class Declared:
    type: str
    name: str
    inputs: dict[str, Any]
    # Dotted paths of the inputs that reached the engine marked secret.
    secret_inputs: frozenset[str] = frozenset()

    @property
    def manifest(self) -> dict[str, Any]:
        return self.inputs

    @property
    def kind(self) -> str:
        return str(self.inputs.get("kind", ""))


@dataclass(frozen=True)
class Stack:
    name: str
    resources: list[Declared]
    secrets: dict[str, str]

    def kinds(self, kind: str) -> list[Declared]:
        return [r for r in self.resources if r.kind == kind]

    def named(self, kind: str, name: str) -> Declared:
        (found,) = [r for r in self.kinds(kind) if r.manifest["metadata"]["name"] == name]
        return found

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]


class _Recorder(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Declared] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        marked = frozenset(_secret_paths(args.inputs, ""))
        self.resources.append(Declared(args.typ, args.name, _plain(args.inputs), marked))
        return f"{args.name}-id", args.inputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


def _secret_paths(value: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return []
    if _SECRET_SIG in value:
        return [path]
    return [p for k, v in value.items() for p in _secret_paths(v, f"{path}.{k}".lstrip("."))]


def _plain(value: Any) -> Any:
    """Secrets unwrapped, integral floats (the wire's numbers) back to ints."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            return _plain(value["value"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def render(stack: str) -> Stack:
    """Run the program for `stack`; returns what it declared."""
    document = yaml.safe_load((INFRA / f"Pulumi.{stack}.yaml").read_text())
    config = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in document["config"].items()
    }
    made_up = {
        "masterKey": "sk-gw-master-" + secrets.token_urlsafe(16),
        "edgeSecret": secrets.token_urlsafe(24),
        "postgresPassword": secrets.token_urlsafe(18),
    }
    provider_keys = {"OPENAI_API_KEY": "sk-test-" + secrets.token_urlsafe(16)}
    for name, value in made_up.items():
        config[f"{PROJECT}:{name}"] = value
    config[f"{PROJECT}:providerKeys"] = json.dumps(provider_keys)
    secret_keys = [f"{PROJECT}:{name}" for name in [*made_up, "providerKeys"]]

    recorder = _Recorder()
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)
    from gateway_infra.program import deploy

    @pulumi.runtime.test  # type: ignore[misc]
    def run() -> None:
        deploy()

    run()
    return Stack(stack, recorder.resources, {**made_up, **provider_keys})
