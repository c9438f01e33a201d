"""Behind Kong: a rotated key's previous secret, named by `X-Credential-Identifier`, is
accepted through its grace period and refused after it, even if Kong still holds it."""

from __future__ import annotations

import httpx
import openai
import pytest
from llm_proxy.kong.consumers import credential_id
from llm_proxy.store.credentials import hash_secret

from tests.control.conftest import EDGE_SECRET, admin, create
from tests.support import openapi
from tests.support.processes import Gateway


def through_kong(gateway: Gateway, key_id: str, secret: str | None) -> httpx.Response:
    """A request as Kong forwards it: edge secret, consumer, and the credential it matched."""
    headers = {"x-gateway-edge-secret": EDGE_SECRET, "x-consumer-username": key_id}
    if secret is not None:
        headers["x-credential-identifier"] = credential_id(key_id, hash_secret(secret))
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        return http.post("/v1/chat/completions", json=body, headers=headers)


def rotate(gateway: Gateway, key_id: str, grace_s: int) -> str:
    with admin(gateway) as http:
        response = http.post(f"/admin/keys/{key_id}/rotate", json={"grace_s": grace_s})
    assert response.status_code == 200, response.text
    secret: str = response.json()["key"]
    return secret


def test_a_rotated_out_secret_kong_still_holds_is_refused_after_its_grace(
    gateway: Gateway,
) -> None:
    issued = create(gateway, "keys", name="rotating-behind-kong")
    key_id, first = issued["id"], issued["key"]
    second = rotate(gateway, key_id, grace_s=3600)
    assert through_kong(gateway, key_id, first).status_code == 200  # in its grace period
    assert through_kong(gateway, key_id, second).status_code == 200
    third = rotate(gateway, key_id, grace_s=0)
    refused = through_kong(gateway, key_id, second)
    assert refused.status_code == 401
    error = refused.json()["error"]
    assert error["code"] == "invalid_api_key" and "grace period has ended" in error["message"]
    openapi.validate("ErrorResponse", refused.json())
    assert through_kong(gateway, key_id, third).status_code == 200
    # Kong without the credential header (older edge configs): the consumer alone decides.
    assert through_kong(gateway, key_id, None).status_code == 200


def test_a_revoked_keys_previous_secret_says_revoked(gateway: Gateway) -> None:
    issued = create(gateway, "keys", name="revoked-behind-kong")
    rotated = rotate(gateway, issued["id"], grace_s=0)
    with admin(gateway) as http:
        assert http.post(f"/admin/keys/{issued['id']}/revoke").status_code == 200
    for secret in (issued["key"], rotated):
        refused = through_kong(gateway, issued["id"], secret)
        assert refused.status_code == 401
        assert refused.json()["error"]["message"] == "This API key has been revoked."


def test_without_the_edge_secret_the_credential_header_changes_nothing(
    gateway: Gateway,
) -> None:
    issued = create(gateway, "keys", name="direct-after-rotation")
    current = rotate(gateway, issued["id"], grace_s=0)
    spoof = {"x-credential-identifier": credential_id(issued["id"], hash_secret(current))}
    caller = openai.OpenAI(
        base_url=gateway.v1, api_key=issued["key"], max_retries=0, default_headers=spoof
    )
    # The old secret, presented directly with no grace left: the header does not save it.
    with pytest.raises(openai.AuthenticationError):
        caller.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
        )
