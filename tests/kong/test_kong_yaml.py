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


def route(document: Document, name: str) -> Document:
    found: Document = next(r for r in document["services"][0]["routes"] if r["name"] == name)
    return found


def plugin(document: Document, name: str, on: str = "llm-api") -> Document:
    """`name` as it applies on route `on`: the route's own, else the service's or global."""
    every = route(document, on)["plugins"] + document["services"][0]["plugins"]
    found: Document = next(p for p in every + document["plugins"] if p["name"] == name)
    return found


def test_kong_yaml_is_valid_for_kong() -> None:
    document = base()
    assert structure_problems(document) == []
    assert field_problems(document) == []
    nested = document["services"][0]["plugins"] + [
        entry for r in document["services"][0]["routes"] for entry in r["plugins"]
    ]
    for entry in nested:
        assert plugin_problems(entry, nested=True) == []
    for entry in document["plugins"]:
        assert plugin_problems(entry) == []


def test_the_edge_has_every_plugin_the_design_asks_for() -> None:
    document = base()
    service = document["services"][0]
    names = {p["name"] for p in service["plugins"] + document["plugins"]}
    names |= {p["name"] for r in service["routes"] for p in r["plugins"]}
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


def test_signed_tokens_have_their_own_route_without_key_auth() -> None:
    document = base()
    token_route = route(document, "llm-api-token")
    assert {p["name"] for p in token_route["plugins"]} == {"rate-limiting"}
    limit = plugin(document, "rate-limiting", on="llm-api-token")["config"]
    assert (limit["limit_by"], limit["header_name"]) == ("header", "x-gateway-token-digest")
    assert limit["policy"] == "redis"
    # key-auth guards the key route only: on the service it would refuse every token.
    assert "key-auth" not in {p["name"] for p in document["services"][0]["plugins"]}
    assert plugin(document, "key-auth")["config"]["hide_credentials"] is True


def test_only_the_client_api_is_routed() -> None:
    routes = base()["services"][0]["routes"]
    assert {path for r in routes for path in r["paths"]} == {"/v1/"}
    # Streams must not be buffered at the edge.
    assert all(r["response_buffering"] is False for r in routes)


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


def _route_plugin(name: str) -> Callable[[Document], Document]:
    return lambda d: next(p for p in _route(d)["plugins"] if p["name"] == name)


def _route(document: Document) -> Document:
    found: Document = document["services"][0]["routes"][0]
    return found


_rate = _route_plugin("rate-limiting")
_key_auth = _route_plugin("key-auth")


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
        (lambda d: d["services"][0]["routes"][1].update(headers={"host": ["a"]}), "'host'"),
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
