"""mTLS (`gateway.tls.client_ca_file`, `client_auth`, `clients`): certificates made by the test.

In `optional` mode a client without a certificate still uses keys; a certificate mapped by
subject is a caller on its own (its team charged, its rows logged as `cert_<name>`); one
mapped by SAN with `key_required` needs a key of its team too; an unmapped one needs a key;
one from another CA fails the handshake. In `required` mode no certificate, no connection.
"""

from __future__ import annotations

import secrets
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509

from tests.identity.certificates import Authority, Issued
from tests.identity.conftest import MASTER_KEY, chat, gateway_config
from tests.support.processes import Gateway, Simulator, start_gateway


class Certificates:
    def __init__(self, directory: Path) -> None:
        self.ca = Authority(directory, "gateway-clients-ca")
        self.server = self.ca.server()
        self.billing = self.ca.client("billing")
        self.agent = self.ca.client(
            "agent-7", sans=[x509.UniformResourceIdentifier("spiffe://corp/agent")]
        )
        self.stranger = self.ca.client("stranger")
        self.forged = Authority(directory, "another-ca").client("billing")

    def context(self, client: Issued | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca.path))
        if client is not None:
            context.load_cert_chain(*client.pair)
        return context


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return Certificates(tmp_path_factory.mktemp("certs"))


def start(
    simulator: Simulator, certs: Certificates, directory: Path, mode: str, teams: dict[str, str]
) -> Gateway:
    clients = [
        {"name": "billing", "subject": "CN=billing,O=Corp", "team_id": teams["billing"]},
        {
            "name": "agent",
            "san": "spiffe://corp/agent",
            "team_id": teams["agents"],
            "key_required": True,
        },
    ]
    tls = {
        "cert_file": str(certs.server.cert),
        "key_file": str(certs.server.key),
        "client_ca_file": str(certs.ca.path),
        "client_auth": mode,
        "clients": clients,
    }
    config = gateway_config(simulator, directory, gateway={"tls": tls})
    ready = {"verify": certs.context(certs.stranger)}
    return start_gateway(config, directory, MASTER_KEY, tls_client=ready)


@pytest.fixture(scope="module")
def teams() -> dict[str, str]:
    """Team names, made per module run: the gateways' configs name them before they exist."""
    suffix = secrets.token_hex(3)
    return {"billing": f"billing-{suffix}", "agents": f"agents-{suffix}"}


@pytest.fixture(scope="module")
def optional(
    simulator: Simulator,
    certs: Certificates,
    teams: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    gateway = start(simulator, certs, tmp_path_factory.mktemp("mtls-optional"), "optional", teams)
    yield gateway
    gateway.stop()


@pytest.fixture(scope="module")
def required(
    simulator: Simulator,
    certs: Certificates,
    teams: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Gateway]:
    gateway = start(simulator, certs, tmp_path_factory.mktemp("mtls-required"), "required", teams)
    yield gateway
    gateway.stop()


def http(
    gw: Gateway, certs: Certificates, client: Issued | None, key: str | None = None
) -> httpx.Client:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=gw.url, verify=certs.context(client), headers=headers, timeout=30)


def provision(gw: Gateway, certs: Certificates, teams: dict[str, str]) -> dict[str, str]:
    """The two teams, and a virtual key of each: {team name: key}."""
    keys = {}
    with http(gw, certs, certs.billing, MASTER_KEY) as admin:
        for name in teams.values():
            team = admin.post("/admin/teams", json={"name": name})
            assert team.status_code == 201, team.text
            key = admin.post("/admin/keys", json={"name": name, "team_id": team.json()["id"]})
            keys[name] = key.json()["key"]
    return keys


def ask(client: httpx.Client) -> tuple[int, dict[str, Any]]:
    response = client.post("/v1/chat/completions", json=chat("m-open"))
    body: dict[str, Any] = response.json()
    return response.status_code, body


def test_optional_mode(optional: Gateway, certs: Certificates, teams: dict[str, str]) -> None:
    keys = provision(optional, certs, teams)
    billing_key, agents_key = keys[teams["billing"]], keys[teams["agents"]]
    # No certificate: keys work as ever, and nothing without one.
    with http(optional, certs, None, agents_key) as keyed:
        assert ask(keyed)[0] == 200
    with http(optional, certs, None) as bare:
        assert ask(bare)[0] == 401
    # A certificate mapped by subject is a caller by itself.
    with http(optional, certs, certs.billing) as billing:
        assert ask(billing)[0] == 200
        assert ask(billing)[0] == 200
    # key_required: the certificate alone is not enough, and only its team's key will do.
    with http(optional, certs, certs.agent) as agent:
        status, body = ask(agent)
        assert status == 401 and "didn't provide an API key" in body["error"]["message"]
    with http(optional, certs, certs.agent, agents_key) as agent:
        assert ask(agent)[0] == 200
    with http(optional, certs, certs.agent, billing_key) as agent:
        status, body = ask(agent)
        assert status == 401 and "only good with a key of team" in body["error"]["message"]
    # A certificate the table does not name: a key is needed.
    with http(optional, certs, certs.stranger) as stranger:
        assert ask(stranger)[0] == 401
    with http(optional, certs, certs.stranger, billing_key) as stranger:
        assert ask(stranger)[0] == 200
    # The same subject from another CA fails the handshake.
    with http(optional, certs, certs.forged) as forged, pytest.raises(httpx.TransportError):
        ask(forged)
    # The certificate's caller was charged to its team and logged under its name.
    rows = logged(optional, certs, "cert_billing", expected=2)
    assert {r["team_id"] for r in rows} == {team_id(optional, certs, teams["billing"])}


def logged(gw: Gateway, certs: Certificates, key_id: str, expected: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with http(gw, certs, certs.stranger, MASTER_KEY) as admin:
        for _ in range(100):
            rows = admin.get("/admin/logs", params={"key_id": key_id}).json()["data"]
            if len(rows) >= expected:
                break
            time.sleep(0.05)
    assert len(rows) == expected
    return rows


def team_id(gw: Gateway, certs: Certificates, name: str) -> str:
    with http(gw, certs, certs.stranger, MASTER_KEY) as admin:
        teams = admin.get("/admin/teams", params={"limit": 200}).json()["data"]
    found: str = next(t["id"] for t in teams if t["name"] == name)
    return found


def test_required_mode(required: Gateway, certs: Certificates, teams: dict[str, str]) -> None:
    keys = provision(required, certs, teams)
    bare = http(required, certs, None, keys[teams["billing"]])
    with bare, pytest.raises(httpx.TransportError):
        ask(bare)  # a key is not enough: no certificate, no connection
    with http(required, certs, certs.billing) as billing:
        assert ask(billing)[0] == 200
    with http(required, certs, certs.stranger, keys[teams["agents"]]) as keyed:
        assert ask(keyed)[0] == 200
    with http(required, certs, certs.forged) as forged, pytest.raises(httpx.TransportError):
        ask(forged)
