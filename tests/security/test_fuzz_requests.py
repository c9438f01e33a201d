"""The request validators fed nested, huge and odd JSON by hypothesis, through HTTP.

Each example is a body for one of the client APIs, built around a plausible request with
fields replaced by arbitrary JSON: deep nesting, huge numbers, long strings, control
characters, lone surrogates, wrong types where types matter. Whatever comes, the gateway
answers (no hang, connection kept), never with a 5xx, and every 4xx is an error body of
the API's own shape.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.security.conftest import MASTER
from tests.support.processes import Gateway

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "\x00", "\ud800", "\u202e", "gpt-4o-mini", "user", "text", "auto"])
)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=24,
)


@st.composite
def deep(draw: st.DrawFn) -> Any:
    """A value nested 30 to 400 levels deep, in arrays or objects."""
    value: Any = draw(SCALARS)
    for _ in range(draw(st.integers(min_value=30, max_value=400))):
        value = [value] if draw(st.booleans()) else {"k": value}
    return value


ODD = JSON | deep() | st.text(min_size=10_000, max_size=60_000) | st.integers(min_value=2**63)
CHAT_FIELDS = (
    "temperature", "top_p", "n", "stream", "stream_options", "max_tokens", "tools",
    "tool_choice", "response_format", "stop", "seed", "logit_bias", "user", "metadata",
)  # fmt: skip
MESSAGE_FIELDS = ("max_tokens", "system", "stream", "temperature", "tools", "stop_sequences")


@st.composite
def chat_body(draw: st.DrawFn) -> dict[str, Any]:
    content = draw(ODD | st.lists(st.fixed_dictionaries({"type": st.just("text"), "text": ODD})))
    message = {
        "role": draw(st.sampled_from(["user", "system", "assistant", "tool"])),
        "content": content,
    }
    body: dict[str, Any] = {"model": "gpt-4o-mini", "messages": draw(st.just([message]) | ODD)}
    for field in draw(st.lists(st.sampled_from(CHAT_FIELDS), max_size=3, unique=True)):
        body[field] = draw(ODD)
    return body


@st.composite
def messages_body(draw: st.DrawFn) -> dict[str, Any]:
    content = draw(ODD | st.lists(st.fixed_dictionaries({"type": SCALARS, "text": ODD})))
    body: dict[str, Any] = {
        "model": "gpt-4o-mini",
        "max_tokens": 16,
        "messages": [{"role": "user", "content": content}],
    }
    for field in draw(st.lists(st.sampled_from(MESSAGE_FIELDS), max_size=2, unique=True)):
        body[field] = draw(ODD)
    return body


@st.composite
def embeddings_body(draw: st.DrawFn) -> dict[str, Any]:
    return {"model": "text-embedding-3-small", "input": draw(ODD), "dimensions": draw(ODD)}


ENDPOINTS = {
    "/v1/chat/completions": chat_body(),
    "/v1/messages": messages_body(),
    "/v1/messages/count_tokens": messages_body(),
    "/v1/embeddings": embeddings_body(),
}


@pytest.mark.parametrize("path", sorted(ENDPOINTS))
def test_odd_json_never_gets_a_5xx(gateway: Gateway, path: str) -> None:
    with httpx.Client(
        base_url=gateway.url, headers={"authorization": f"Bearer {MASTER}"}, timeout=60
    ) as http:

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(body=ENDPOINTS[path])
        def send(body: dict[str, Any]) -> None:
            # Stdlib json writes lone surrogates as escapes; orjson and httpx would refuse.
            raw = json.dumps(body, allow_nan=False)
            response = http.post(path, content=raw, headers={"content-type": "application/json"})
            assert response.status_code < 500, (response.status_code, response.text[:300])
            if response.status_code >= 400:
                error = response.json()
                assert "error" in error, error
                if path.startswith("/v1/messages"):
                    assert error["type"] == "error", error

        send()
