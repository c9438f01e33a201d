"""kong/kong.yaml against Kong's own schemas, and the validator's ability to say no."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from tests.kong.conftest import BASE
from tests.kong.kong_schema import (
    field_problems,
    lua_find,
    plugin_problems,
    structure_problems,
)

Document = dict[str, Any]


def base() -> Document:
    document: Document = yaml.safe_load(BASE.read_text())
    return document


def plugin(document: Document, name: str) -> Document:
    every = document["services"][0]["plugins"] + document["plugins"]
    found: Document = next(p for p in every if p["name"] == name)
    return found


def test_kong_yaml_is_valid_for_kong() -> None:
    document = base()
    assert structure_problems(document) == []
    assert field_problems(document) == []
    for entry in document["services"][0]["plugins"]:
        assert plugin_problems(entry, nested=True) == []
    for entry in document["plugins"]:
        assert plugin_problems(entry) == []


def test_the_edge_has_every_plugin_the_design_asks_for() -> None:
    document = base()
    names = {p["name"] for p in document["services"][0]["plugins"] + document["plugins"]}
    assert {
        "pre-function",
        "key-auth",
        "rate-limiting",
        "request-size-limiting",
        "correlation-id",
        "opentelemetry",
        "prometheus",
    } <= names
    key_auth = plugin(document, "key-auth")["config"]
    assert key_auth["hide_credentials"] is True
    assert key_auth["key_in_query"] is False
    assert plugin(document, "rate-limiting")["config"]["policy"] == "redis"


def test_only_the_client_api_is_routed() -> None:
    routes = base()["services"][0]["routes"]
    paths = [path for route in routes for path in route["paths"]]
    assert paths == ["/v1/"]
    # Streams must not be buffered at the edge.
    assert all(route["response_buffering"] is False for route in routes)


def test_the_pre_function_reads_both_headers_and_sets_the_edge_secret() -> None:
    access = plugin(base(), "pre-function")["config"]["access"]
    code = "\n".join(access)
    for needle in (
        '"authorization"',
        '"x-api-key"',
        '"x-gateway-key-digest"',
        '"x-gateway-edge-secret"',
        "{vault://env/gateway-edge-secret}",
    ):
        assert needle in code
    assert plugin(base(), "key-auth")["config"]["key_names"] == ["x-gateway-key-digest"]


Mutation = Callable[[Document], None]


def _service_plugin(name: str) -> Callable[[Document], Document]:
    return lambda d: next(p for p in d["services"][0]["plugins"] if p["name"] == name)


def _route(document: Document) -> Document:
    route: Document = document["services"][0]["routes"][0]
    return route


_rate = _service_plugin("rate-limiting")
_key_auth = _service_plugin("key-auth")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: _rate(d)["config"].update(policy="cluster"), "config.policy: expected one of"),
        (lambda d: _rate(d)["config"]["redis"].pop("host"), "config.redis.host"),
        (lambda d: _rate(d)["config"].update(second=0), "greater than 0"),
        (lambda d: _rate(d)["config"].update(limit_by="header"), "config.header_name"),
        (lambda d: _key_auth(d)["config"].update(hide_credential=True), "unknown field"),
        (lambda d: _key_auth(d)["config"].update(hide_credentials="yes"), "expected a boolean"),
        (lambda d: _key_auth(d).update(consumer="someone"), "consumer: value must be null"),
        (lambda d: d["services"][0]["routes"][0].update(methods=["get"]), "invalid value: get"),
        (lambda d: d["services"][0]["routes"][0].update(paths=["v1"]), "should start with"),
        (lambda d: d["services"][0]["routes"][0].update(service="llm-proxy"), "must be null"),
        (lambda d: d["services"][0].update(port=70000), "between 0 and 65535"),
        (lambda d: _route(d).update(protocols=["http", "tcp"]), "mutually exclusive"),
        (lambda d: _route(d).update(protocols=["http"], snis=["a.example"]), "'snis' can only"),
        (lambda d: d["plugins"][0]["config"].update(generator="uuid4"), "expected one of"),
        (lambda d: d["plugins"][1]["config"].pop("traces_endpoint"), "at least one of"),
        (lambda d: d["plugins"].append({"name": "no-such-plugin"}), "not enabled"),
        (lambda d: d.update(_format_version="2.0"), "_format_version"),
        (lambda d: d["services"].append(copy.deepcopy(d["services"][0])), "uniqueness"),
    ],
)
def test_kong_would_reject_these(mutate: Mutation, expected: str) -> None:
    document = base()
    mutate(document)
    problems = field_problems(document)
    assert any(expected in p for p in problems), problems


def test_the_file_structure_schema_rejects_an_unknown_top_level_key() -> None:
    document = base()
    document["consumer"] = []
    assert any("consumer" in p for p in structure_problems(document))


@pytest.mark.parametrize(
    ("pattern", "subject", "found"),
    [
        ("^%u+$", "POST", True),
        ("^%u+$", "Post", False),
        ("//", "/a//b", True),
        ("^[^*]*%*?[^*]*$", "*.example.com", True),
        ("^[^*]*%*?[^*]*$", "*.*.com", False),
        ("%.%*$", "example.*", True),
        ("^[^:]+:.*$", "x-a:b", True),
        ("^[^:]+:.*$", "x-a", False),
        ("^a.-b$", "axxb", True),
    ],
)
def test_lua_patterns_behave_as_in_lua(pattern: str, subject: str, found: bool) -> None:
    assert lua_find(pattern, subject) is found
