"""Signed client tokens (`auth.jwt`): real keys, a real JWKS on loopback, a real gateway.

Every way a token can be wrong is refused with its own reason; a good token's claims
name a team, whose budget is then charged and whose spend log rows carry the caller;
the issuer's key rotation is picked up without a restart, and unknown kids do not flood
the issuer; a token id on the admin API's deny-list is refused; a local JWKS file works
as a URL does.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import openai
import pytest

from tests.identity.conftest import MASTER_KEY, chat, gateway_config
from tests.identity.idp import AUDIENCE, IdentityProvider, SigningKey, sign
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway

FILE_ISSUER = "https://idp.file.test"


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def file_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SigningKey]:
    key = SigningKey("ES256")
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [key.jwk]}))
    return path, key


@pytest.fixture(scope="module")
def gw(
    simulator: Simulator,
    idp: IdentityProvider,
    file_key: tuple[Path, SigningKey],
    redis_prefix: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    directory = tmp_path_factory.mktemp("jwt-gateway")
    claims = {"team_id": "$.groups[0]", "user_id": "$.email", "allowed_models": "$.models"}
    issuers = [
        {
            "issuer": idp.issuer,
            "jwks_url": idp.jwks_url,
            "audiences": [AUDIENCE, "other-gateway-name"],
            "clock_skew_s": 5,
            "jwks_min_refresh_s": 1,
            "claims": {**claims, "roles": "$.roles"},
            "roles": {"gateway-admins": "admin"},
        },
        {
            "issuer": FILE_ISSUER,
            "jwks_file": str(file_key[0]),
            "audiences": [AUDIENCE],
            "algorithms": ["ES256"],
            "jwks_min_refresh_s": 0,
            "claims": {"team_id": "$.groups[0]"},
        },
    ]
    with scratch_database("identity") as database_url:
        extra = {"auth": {"jwt": {"issuers": issuers}}}
        config = gateway_config(simulator, directory, database_url, redis_prefix, **extra)
        gateway = start_gateway(config, directory, MASTER_KEY)
        yield gateway
        gateway.stop()


def create(gw: Gateway, path: str, body: dict[str, Any]) -> dict[str, Any]:
    with gw.client() as http:
        response = http.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def new_team(gw: Gateway, **budget: Any) -> dict[str, Any]:
    name = secrets.token_hex(4)
    made = create(gw, "/admin/budgets", {"name": f"budget-{name}", **budget})
    return create(gw, "/admin/teams", {"name": f"team-{name}", "budget_id": made["id"]})


def refusal(gw: Gateway, token: str) -> tuple[int, dict[str, Any]]:
    response = httpx.post(
        f"{gw.v1}/chat/completions",
        json=chat("m-open"),
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    error: dict[str, Any] = response.json()["error"]
    return response.status_code, error


def client(gw: Gateway, token: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=token, max_retries=0)


@pytest.fixture(scope="module")
def team(gw: Gateway) -> dict[str, Any]:
    return new_team(gw)


def test_each_bad_token_is_refused_with_its_reason(
    gw: Gateway, idp: IdentityProvider, team: dict[str, Any]
) -> None:
    good = {"groups": [team["name"]]}
    now = int(time.time())
    stranger = SigningKey("RS256")
    stranger.kid = idp.keys[0].kid  # a known kid, but the wrong private key
    cases = {
        "expired": (idp.token(good, lifetime_s=-60), "The token has expired."),
        "not yet valid": (idp.token({**good, "nbf": now + 600}), "not valid yet"),
        "issued in the future": (idp.token({**good, "iat": now + 600}), "not valid yet"),
        "wrong audience": (idp.token({**good, "aud": "someone-else"}), "audience"),
        "wrong issuer": (
            idp.token({**good, "iss": "https://evil.test"}),
            "issuer ('https://evil.test') is not one this gateway trusts",
        ),
        "bad signature": (idp.token(good, key=stranger), "signature does not verify"),
        "unknown key": (idp.token(good, kid="no-such-kid"), "(kid 'no-such-kid') is not one"),
        "no expiry": (_without_exp(idp, good), "lacks the required claim 'exp'"),
        "no team": (idp.token({}), "names no team at '$.groups[0]'"),
        "unknown team": (idp.token({"groups": ["nobody"]}), "team 'nobody' is not known"),
        "alg none": (
            jwt.encode({"iss": idp.issuer, "aud": AUDIENCE}, None, algorithm="none"),
            "algorithm ('none') is not allowed",
        ),
        "HS/RS confusion": (_hmac_with_public_key(idp, good), "algorithm ('HS256') is not"),
        "garbled": ("eyJhbGciOiJSUzI1NiJ9.bm90IGpzb24.c2ln", "not a well-formed JWT"),
        "no issuer": (_without_iss(idp, good), "issuer (None) is not one"),
        "null expiry": (idp.token({**good, "exp": None}), "lacks the required claim 'exp'"),
        "expiry as text": (idp.token({**good, "exp": "never"}), "'exp' claim is not a Numeric"),
        "critical extension": (idp.token(good, crit=["x-ours"]), "critical extensions"),
        "junk in a segment": (_junk_in_signature(idp, good), "not a well-formed JWT"),
    }
    for name, (token, reason) in cases.items():
        status, error = refusal(gw, token)
        assert status == 401, name
        assert error["code"] == "invalid_token", name
        assert error["type"] == "authentication_error", name
        assert reason in error["message"], (name, error["message"])


def _without_exp(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    key = idp.keys[0]
    body = {"iss": idp.issuer, "aud": AUDIENCE, "sub": "u", **claims}
    return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": key.kid})


def _without_iss(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    key = idp.keys[0]
    body = {"aud": AUDIENCE, "sub": "u", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(body, key.private, algorithm="RS256", headers={"kid": key.kid})


def _junk_in_signature(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    """A good token with characters base64url does not have: lenient decoders skip them."""
    head, body, signature = idp.token(claims).split(".")
    return f"{head}.{body}.{signature[:10]}!!!!{signature[10:]}"


def _hmac_with_public_key(idp: IdentityProvider, claims: dict[str, Any]) -> str:
    """The classic confusion: HS256 keyed with the issuer's *public* RSA key material."""
    public = idp.keys[0].jwk["n"].encode()
    body = {"iss": idp.issuer, "aud": AUDIENCE, "exp": int(time.time()) + 60, **claims}
    return jwt.encode(body, public, algorithm="HS256", headers={"kid": idp.keys[0].kid})


def test_a_good_tokens_team_is_charged_and_its_requests_logged(
    gw: Gateway, idp: IdentityProvider
) -> None:
    team = new_team(gw, usd_daily=20)
    user = create(gw, "/admin/users", {"email": f"{secrets.token_hex(3)}@example.com"})
    token = idp.token(
        {
            "sub": "alice",
            "groups": [team["name"], "other"],
            "email": user["email"],
            "models": ["m-pricey"],
        }
    )
    caller = client(gw, token)
    for _ in range(2):  # $10 each: the team's $20 a day is spent
        answer = caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
        assert answer.choices[0].message.content
    with pytest.raises(openai.RateLimitError) as refused:
        caller.chat.completions.create(**chat("m-pricey", max_tokens=10))
    assert refused.value.response.json()["error"]["code"] == "budget_exceeded"
    with pytest.raises(openai.PermissionDeniedError) as denied:
        caller.chat.completions.create(**chat("m-open"))
    assert denied.value.response.json()["error"]["code"] == "model_not_allowed"
    rows = _logged(gw, team["id"], expected=4)
    assert sorted(r["status"] for r in rows) == [200, 200, 403, 429]
    assert {r["team_id"] for r in rows} == {team["id"]}
    assert {r["user_id"] for r in rows} == {user["id"]}
    (principal,) = {r["key_id"] for r in rows}
    assert principal.startswith("jwt_")
    assert sum(r["cost_usd"] for r in rows) == pytest.approx(20.0)
    # The same subject with a fresh token is the same caller (its rows, its limits).
    again = client(gw, idp.token({"sub": "alice", "groups": [team["name"]]}))
    with pytest.raises(openai.RateLimitError):
        again.chat.completions.create(**chat("m-pricey", max_tokens=10))
    assert {r["key_id"] for r in _logged(gw, team["id"], expected=5)} == {principal}


def _logged(gw: Gateway, team_id: str, expected: int) -> list[dict[str, Any]]:
    """The spend log is written in the background: wait (bounded) for the rows."""
    rows: list[dict[str, Any]] = []
    with gw.client() as http:
        for _ in range(100):
            rows = http.get("/admin/logs", params={"team_id": team_id}).json()["data"]
            if len(rows) >= expected:
                break
            time.sleep(0.05)
    assert len(rows) == expected
    return rows


def test_key_rotation_is_picked_up_without_restart(
    gw: Gateway, idp: IdentityProvider, team: dict[str, Any]
) -> None:
    claims = {"groups": [team["id"]]}  # a team by id works as well as by name
    old = idp.token(claims)
    client(gw, old).chat.completions.create(**chat("m-open"))
    time.sleep(1.1)  # past the refresh rate limit another test may have used
    fresh = idp.rotate()
    new = idp.token(claims, key=fresh)
    fetched = idp.jwks_requests
    client(gw, new).chat.completions.create(**chat("m-open"))
    assert idp.jwks_requests == fetched + 1
    status, error = refusal(gw, old)  # its key is gone from the issuer's set
    assert status == 401
    assert "is not one of issuer" in error["message"]
    # Made-up kids do not make the gateway fetch the keys on every request: once a second.
    fetched, started = idp.jwks_requests, time.monotonic()
    for _ in range(20):
        assert refusal(gw, idp.token(claims, kid=secrets.token_hex(4)))[0] == 401
    assert idp.jwks_requests - fetched <= 1 + int(time.monotonic() - started)


def test_a_denied_jti_is_refused_until_allowed_again(
    gw: Gateway, idp: IdentityProvider, team: dict[str, Any]
) -> None:
    jti = secrets.token_hex(8)
    token = idp.token({"groups": [team["name"]], "jti": jti})
    caller = client(gw, token)
    caller.chat.completions.create(**chat("m-open"))
    expires = "2099-01-01T00:00:00Z"
    denied = create(
        gw, "/admin/jwt/denied", {"jti": jti, "reason": "leaked", "expires_at": expires}
    )
    assert denied["jti"] == jti and denied["reason"] == "leaked"
    status, error = refusal(gw, token)
    assert (status, error["message"]) == (401, "This token has been revoked.")
    with gw.client() as http:
        assert jti in [d["jti"] for d in http.get("/admin/jwt/denied").json()["data"]]
        assert http.post("/admin/jwt/denied", json={"jti": jti}).status_code == 409
        assert http.post("/admin/jwt/denied", json={"jti": ""}).status_code == 400
        assert http.delete(f"/admin/jwt/denied/{jti}").status_code == 204
        assert http.delete(f"/admin/jwt/denied/{jti}").status_code == 404
        audited = http.get("/admin/audit", params={"target": f"denied_tokens/{jti}"}).json()
    assert len(audited["data"]) == 2
    caller.chat.completions.create(**chat("m-open"))
    # Only an admin may write the deny-list: a token's own holder may not.
    response = httpx.post(
        f"{gw.url}/admin/jwt/denied",
        json={"jti": "x"},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 403


def test_a_tokens_roles_open_the_admin_api(
    gw: Gateway, idp: IdentityProvider, team: dict[str, Any]
) -> None:
    admin = idp.token({"groups": [team["name"]], "roles": ["gateway-admins"]})
    reader = idp.token({"groups": [team["name"]], "roles": ["readonly", "unrelated"]})
    nobody = idp.token({"groups": [team["name"]]})
    teams = f"{gw.url}/admin/teams"
    assert httpx.get(teams, headers={"authorization": f"Bearer {admin}"}).status_code == 200
    assert httpx.get(teams, headers={"authorization": f"Bearer {reader}"}).status_code == 200
    write = httpx.post(
        teams, json={"name": "readers-may-not"}, headers={"authorization": f"Bearer {reader}"}
    )
    assert write.status_code == 403
    refused = httpx.get(teams, headers={"authorization": f"Bearer {nobody}"})
    assert refused.status_code == 403
    assert "no gateway role" in refused.json()["error"]["message"]


def test_a_local_jwks_file_is_read_and_reread_on_rotation(
    gw: Gateway, file_key: tuple[Path, SigningKey], team: dict[str, Any]
) -> None:
    path, key = file_key
    claims = {"groups": [team["name"]]}
    client(gw, sign(key, FILE_ISSUER, claims)).chat.completions.create(**chat("m-open"))
    rotated = SigningKey("ES256")
    path.write_text(json.dumps({"keys": [rotated.jwk]}))
    client(gw, sign(rotated, FILE_ISSUER, claims)).chat.completions.create(**chat("m-open"))
    # This issuer allows ES256 only: an RSA token from it is refused, whatever its key.
    status, error = refusal(gw, sign(SigningKey("RS256"), FILE_ISSUER, claims))
    assert status == 401
    assert "algorithm ('RS256') is not allowed" in error["message"]
