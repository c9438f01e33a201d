"""The edge's pre-function (kong/kong.yaml), run under LuaJIT: where the key is taken from,
what key-auth gets to look up, and what reaches llm-proxy."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from llm_proxy.store.credentials import hash_secret

from tests.kong.conftest import BASE, KeyTable, render
from tests.kong.kong_pdk import EdgeRequest, PreFunction

KEY = "sk-gw-Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5"
SECRET = "edge-secret-of-this-deployment"
DIGEST = "x-gateway-key-digest"
TOKEN_DIGEST = "x-gateway-token-digest"
# A compact JWS's shape (the signature is not checked at the edge: llm-proxy verifies it).
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl_-"
CONSUMER_HEADERS = (
    "x-consumer-id",
    "x-consumer-custom-id",
    "x-consumer-username",
    "x-consumer-groups",
    "x-credential-identifier",
    "x-anonymous-consumer",
)


def edge_plugin(name: str) -> dict[str, Any]:
    plugins = yaml.safe_load(BASE.read_text())["services"][0]["plugins"]
    found: dict[str, Any] = next(p for p in plugins if p["name"] == name)
    return found


def token_route_matches(authorization: str) -> bool:
    """Kong's header match for route llm-api-token: `~*` is a case-insensitive regex."""
    routes = yaml.safe_load(BASE.read_text())["services"][0]["routes"]
    (pattern,) = next(r for r in routes if r["name"] == "llm-api-token")["headers"]["authorization"]
    return re.search(pattern.removeprefix("~*"), authorization, re.IGNORECASE) is not None


@pytest.fixture(scope="module")
def pre_function() -> PreFunction:
    return PreFunction(edge_plugin("pre-function")["config"]["access"])


def through(
    pre: PreFunction, headers: dict[str, str], env: dict[str, str] | None = None
) -> EdgeRequest:
    env = {"GATEWAY_EDGE_SECRET": SECRET} if env is None else env
    return pre.run(EdgeRequest(headers=dict(headers), env=env))


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": f"Bearer {KEY}"},
        {"authorization": f"bearer   {KEY} "},
        {"x-api-key": KEY},
        {"authorization": "Basic dXNlcjpwYXNz", "x-api-key": KEY},
    ],
)
def test_key_auth_gets_the_digest_and_llm_proxy_never_the_key(
    pre_function: PreFunction, headers: dict[str, str]
) -> None:
    request = through(pre_function, headers)
    assert request.headers[DIGEST] == hash_secret(KEY)
    assert KEY not in "".join(request.headers.values())
    assert "authorization" not in request.headers and "x-api-key" not in request.headers


def test_a_forged_consumer_never_reaches_llm_proxy(pre_function: PreFunction) -> None:
    # Only key-auth, after the pre-function, names a consumer; on the token route nothing does.
    forged = dict.fromkeys(CONSUMER_HEADERS, "key_of_someone_else")
    for credential in ({"x-api-key": KEY}, {"authorization": f"Bearer {TOKEN}"}, {}):
        request = through(pre_function, {**forged, **credential})
        assert not set(CONSUMER_HEADERS) & set(request.headers)
        assert request.headers["x-gateway-edge-secret"] == SECRET


def test_a_signed_token_goes_on_for_llm_proxy_to_verify(pre_function: PreFunction) -> None:
    request = through(pre_function, {"authorization": f"bearer  {TOKEN} ", TOKEN_DIGEST: "x"})
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    # The token route's rate limit is per token: its digest, not one a client chose.
    assert request.headers[TOKEN_DIGEST] == hash_secret(TOKEN)
    assert DIGEST not in request.headers


@pytest.mark.parametrize(
    "authorization",
    [
        f"Bearer {TOKEN}",
        f"BEARER {TOKEN}  ",
        f"Bearer {TOKEN}.extra",
        f"Bearer {TOKEN[:-1]}!",
        "Bearer eyJ.only-two",
        "Bearer eyJ..",
        f"Bearer {KEY}",
        f"Bearer x{TOKEN}",
        f"Basic {TOKEN}",
        f"Bearer {TOKEN} trailing",
    ],
)
def test_the_token_route_and_the_pre_function_agree_on_what_a_token_is(
    pre_function: PreFunction, authorization: str
) -> None:
    # A disagreement would send a token to key-auth (refused) or a key past it (llm-proxy
    # would still check it, with no consumer named): both fail closed, but neither serves.
    request = through(pre_function, {"authorization": authorization})
    assert token_route_matches(authorization) is (TOKEN_DIGEST in request.headers)


def test_no_key_leaves_key_auth_nothing_to_find(pre_function: PreFunction) -> None:
    # A digest the client made up is dropped too: key-auth answers "No API key found".
    request = through(pre_function, {"authorization": "Basic abc", DIGEST: hash_secret(KEY)})
    assert DIGEST not in request.headers


def test_the_edge_secret_comes_from_kongs_environment_not_the_client(
    pre_function: PreFunction,
) -> None:
    request = through(pre_function, {"x-api-key": KEY, "x-gateway-edge-secret": "forged"})
    assert request.headers["x-gateway-edge-secret"] == SECRET


def test_without_its_secret_the_edge_refuses_rather_than_forwarding(
    pre_function: PreFunction,
) -> None:
    request = through(pre_function, {"x-api-key": KEY}, env={})
    assert request.exit_status == 500
    assert "x-gateway-edge-secret" not in request.headers
    assert any("edge secret unavailable" in line for line in request.logged)


def test_the_code_needs_no_module_beyond_the_documented_sandbox_requires() -> None:
    code = edge_plugin("pre-function")["config"]["access"]
    with pytest.raises(Exception, match="not allowed within sandbox"):
        PreFunction([code[0].replace("resty.string", "resty.aes")])
    assert len(PreFunction(code).phases) == len(code)


async def test_a_presented_key_finds_its_consumer_in_the_rendered_config(
    key_table: KeyTable, pre_function: PreFunction
) -> None:
    key_id, key = await key_table.add()
    await key_table.add()
    document = await render(key_table)
    owners = {
        credential["key"]: (consumer["username"], credential["id"])
        for consumer in document["consumers"]
        for credential in consumer["keyauth_credentials"]
    }
    digest = through(pre_function, {"authorization": f"Bearer {key}"}).headers[DIGEST]
    assert owners[digest][0] == key_id
    assert through(pre_function, {"x-api-key": key + "x"}).headers[DIGEST] not in owners
