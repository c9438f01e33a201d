"""Client input never steers LiteLLM: only each API's documented parameters travel on.

A listener on loopback stands where a hostile `base_url` points; it must never be
reached, on the fast path or the translated one, whatever LiteLLM parameter is sent.
The parameter names are read from LiteLLM's own source at test time, so a control
parameter LiteLLM adds later is swept too.
"""

from __future__ import annotations

import inspect
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import yaml

from tests.llm_proxy.conftest import main_config
from tests.support.openapi import SPEC
from tests.support.processes import Gateway, Simulator, start_gateway

CHAT_TRANSLATED = "claude-3-5-haiku-latest"  # chat completions to an Anthropic backend
MESSAGES_TRANSLATED = "gpt-4o-mini"  # Anthropic Messages to an OpenAI-format backend


class Listener:
    """A TCP port that counts every connection made to it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    lst = Listener()
    yield lst
    lst.sock.close()


@pytest.fixture(scope="module")
def gw(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    gateway = start_gateway(main_config(simulator), tmp_path_factory.mktemp("params"))
    yield gateway
    gateway.stop()


def slow_client(gw: Gateway) -> httpx.Client:
    """The first translated call imports LiteLLM: seconds, more on a loaded machine."""
    headers = {"authorization": f"Bearer {gw.master_key}"}
    return httpx.Client(base_url=gw.url, headers=headers, timeout=180)


def chat(model: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {"model": model, "messages": [{"role": "user", "content": "Hi"}], **extra}
    return "/v1/chat/completions", body


def messages(model: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    body = {
        "model": model,
        "max_tokens": 16,
        "messages": [{"role": "user", "content": "Hi"}],
        **extra,
    }
    return "/v1/messages", body


def embeddings(**extra: Any) -> tuple[str, dict[str, Any]]:
    return "/v1/embeddings", {"model": "text-embedding-3-small", "input": "Hi", **extra}


def every_path(**extra: Any) -> list[tuple[str, dict[str, Any]]]:
    return [
        chat(CHAT_TRANSLATED, **extra),
        chat("gpt-4o-mini", **extra),
        messages(MESSAGES_TRANSLATED, **extra),
        messages(CHAT_TRANSLATED, **extra),
        embeddings(**extra),
    ]


def error_message(response: httpx.Response) -> str:
    body = response.json()
    message: str = body["error"]["message"]
    return message


@pytest.mark.parametrize(
    "field",
    [
        "base_url",
        "api_base",
        "api_key",
        "headers",
        "extra_headers",
        "extra_body",
        "mock_response",
        "custom_llm_provider",
        "aws_secret_access_key",
        "vertex_credentials",
    ],
)
def test_control_parameters_are_refused_naming_the_field(
    gw: Gateway, sim: httpx.Client, listener: Listener, field: str
) -> None:
    value: Any = {"x-evil": "1"} if "headers" in field or field == "extra_body" else listener.url
    with slow_client(gw) as client:
        for path, body in every_path(**{field: value}):
            response = client.post(path, json=body)
            assert response.status_code == 400, (path, response.text)
            assert field in error_message(response)
    assert listener.connections == 0
    assert sim.get("/_sim/requests").json()["requests"] == []


def litellm_parameter_names() -> set[str]:
    """Every keyword LiteLLM's entry points take, read from the installed package."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm
    from litellm.types.utils import all_litellm_params

    names = set(all_litellm_params)
    for function in (
        litellm.completion,
        litellm.acompletion,
        litellm.embedding,
        litellm.anthropic.messages.acreate,
    ):
        names |= {
            p.name
            for p in inspect.signature(function).parameters.values()
            if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        }
    return names


def test_a_sweep_of_litellms_own_parameters_never_reaches_anyone(
    gw: Gateway, sim: httpx.Client, listener: Listener
) -> None:
    from llm_proxy.upstream.parameters import DOCUMENTED, GATEWAY_FIELDS

    names = litellm_parameter_names()
    assert len(names) > 100, "LiteLLM's parameter list was not found"
    documented = DOCUMENTED["chat"] | DOCUMENTED["messages"] | GATEWAY_FIELDS
    swept = sorted(names - documented)
    with slow_client(gw) as client:
        for name in swept:
            for path, body in (chat(CHAT_TRANSLATED), messages(MESSAGES_TRANSLATED)):
                body[name] = listener.url
                response = client.post(path, json=body)
                assert response.status_code == 400, (name, path, response.text)
                assert name in error_message(response), name
    assert listener.connections == 0
    assert sim.get("/_sim/requests").json()["requests"] == []


def test_metadata_is_read_by_the_gateway_and_never_sent_on(
    gw: Gateway, sim: httpx.Client, listener: Listener
) -> None:
    hostile = {"api_base": listener.url, "mock_response": "MOCKED", "tags": ["a"]}
    with slow_client(gw) as client:
        for path, body in every_path(metadata={**hostile, "user_id": "u-1"}):
            response = client.post(path, json=body)
            assert response.status_code == 200, (path, response.text)
            assert "MOCKED" not in response.text
    assert listener.connections == 0
    received = sim.get("/_sim/requests").json()["requests"]
    assert len(received) == 5
    for request in received:
        metadata = request["body"].get("metadata")
        # Anthropic documents metadata.user_id: the caller's own, passed on; nothing else.
        assert metadata in (None, {"user_id": "u-1"}), request


def test_documented_parameters_still_reach_the_provider(gw: Gateway, sim: httpx.Client) -> None:
    with slow_client(gw) as client:
        path, body = chat(CHAT_TRANSLATED, temperature=0.2, stop=["zz"], user="u")
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
        path, body = messages(MESSAGES_TRANSLATED, temperature=0.3, top_p=0.9)
        response = client.post(path, json=body)
        assert response.status_code == 200, response.text
    received = [r["body"] for r in sim.get("/_sim/requests").json()["requests"]]
    assert received[0]["temperature"] == 0.2
    assert received[0]["stop_sequences"] == ["zz"]
    assert received[1]["temperature"] == 0.3


def _request_properties(schema_name: str) -> set[str]:
    schemas = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)["components"][
        "schemas"
    ]
    found: set[str] = set()

    def walk(node: dict[str, Any]) -> None:
        if "$ref" in node:
            walk(schemas[node["$ref"].rsplit("/", 1)[-1]])
            return
        found.update(node.get("properties", {}))
        for key in ("allOf", "anyOf", "oneOf"):
            for part in node.get(key, []):
                walk(part)

    walk(schemas[schema_name])
    return found


@pytest.mark.parametrize(
    ("api", "schema"),
    [
        ("chat", "CreateChatCompletionRequest"),
        ("completions", "CreateCompletionRequest"),
        ("embeddings", "CreateEmbeddingRequest"),
        ("responses", "CreateResponse"),
    ],
)
def test_the_allow_lists_are_openais_documented_parameters(api: str, schema: str) -> None:
    from llm_proxy.upstream.parameters import DOCUMENTED

    assert DOCUMENTED[api] == _request_properties(schema)
