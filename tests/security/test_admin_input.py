"""Findings 6, 8 and 13 (admin side): bad admin input is a clear 400 that writes nothing.

Deep or huge free-form metadata, numbers past what the columns hold, infinities, forged
cursors and times outside the calendar used to answer 500 (and a deep `metadata` was
committed first, breaking every later listing). Validation messages name the field and
never a server file path.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.security.conftest import admin, create, unique
from tests.support.processes import Gateway

JSON = {"content-type": "application/json"}


def _deep(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"d": value}
    return value


def _post(gateway: Gateway, resource: str, body: Any) -> tuple[int, dict[str, Any]]:
    with admin(gateway) as http:
        response = http.post(f"/admin/{resource}", json=body)
    return response.status_code, response.json()


def _count(gateway: Gateway, resource: str, name: str) -> int:
    with admin(gateway) as http:
        response = http.get(f"/admin/{resource}", params={"limit": 200})
    assert response.status_code == 200, response.text
    return sum(1 for row in response.json()["data"] if row.get("name") == name)


@pytest.mark.parametrize("resource", ["keys", "teams", "users", "organizations"])
@pytest.mark.parametrize("metadata", [_deep(300), _deep(40), {"blob": "x" * 70_000}])
def test_deep_or_huge_metadata_is_refused_and_nothing_is_written(
    gateway: Gateway, resource: str, metadata: Any
) -> None:
    name = unique(resource)
    body: dict[str, Any] = {"name": name, "metadata": metadata}
    if resource == "users":
        body["email"] = f"{name}@example.com"
    status, answer = _post(gateway, resource, body)
    assert status == 400, answer
    assert answer["error"]["param"] == "metadata"
    assert _count(gateway, resource, name) == 0


@pytest.mark.parametrize("resource", ["keys", "teams", "users", "organizations"])
def test_metadata_with_a_lone_surrogate_is_refused_and_nothing_is_written(
    gateway: Gateway, resource: str
) -> None:
    # Valid JSON (a \udfff escape) that no UTF-8 can store: the fuzzer's 500 on creates.
    name = unique(resource)
    email = f', "email": "{name}@example.com"' if resource == "users" else ""
    raw = f'{{"name": "{name}", "metadata": {{"k": "\\udfff"}}{email}}}'
    with admin(gateway) as http:
        refused = http.post(f"/admin/{resource}", content=raw, headers=JSON)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "metadata"
    assert _count(gateway, resource, name) == 0


def test_listings_still_answer_after_refused_metadata(gateway: Gateway) -> None:
    created = create(gateway, "keys", name=unique("shallow"), metadata={"a": {"b": [1, 2]}})
    for levels in (300, 900):
        deep = '{"d": ' * levels + "1" + "}" * levels
        with admin(gateway) as http:
            raw = f'{{"name": "{unique("deep")}", "metadata": {deep}}}'
            refused = http.post("/admin/keys", content=raw, headers=JSON)
        assert refused.status_code == 400, refused.text
    for resource in ("keys", "teams"):
        with admin(gateway) as http:
            assert http.get(f"/admin/{resource}").status_code == 200
    with admin(gateway) as http:
        again = http.get(f"/admin/keys/{created['id']}").json()
    assert again["metadata"] == {"a": {"b": [1, 2]}}


@pytest.mark.parametrize(
    ("resource", "field", "value"),
    [
        ("keys", "rpm", 10**30),
        ("keys", "tpm", 2**31),
        ("keys", "max_tokens_cap", 2**63),
        ("teams", "tpd", 10**19),
        ("budgets", "tokens_daily", 10**30),
        ("budgets", "tokens_monthly", 2**63),
        ("budgets", "usd_monthly", 1e300),
    ],
)
def test_numbers_past_what_is_stored_are_refused(
    gateway: Gateway, resource: str, field: str, value: Any
) -> None:
    name = unique(resource)
    status, answer = _post(gateway, resource, {"name": name, field: value})
    assert status == 400, answer
    assert answer["error"]["param"] == field
    assert _count(gateway, resource, name) == 0


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN", "1e999"])
def test_non_finite_usd_is_refused(gateway: Gateway, literal: str) -> None:
    name = unique("budget")
    raw = f'{{"name": "{name}", "usd_daily": {literal}}}'
    with admin(gateway) as http:
        response = http.post("/admin/budgets", content=raw, headers=JSON)
    assert response.status_code == 400, response.text
    assert _count(gateway, "budgets", name) == 0


def test_an_admin_token_cannot_be_created_already_expired(gateway: Gateway) -> None:
    name = unique("expired")
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    status, answer = _post(
        gateway, "tokens", {"name": name, "role": "readonly", "expires_at": past}
    )
    assert status == 400, answer
    assert answer["error"]["param"] == "expires_at"
    with admin(gateway) as http:
        tokens = http.get("/admin/tokens", params={"limit": 200}).json()["data"]
    assert name not in {token["name"] for token in tokens}


def test_validation_messages_name_the_field_not_server_files(gateway: Gateway) -> None:
    for body in ({"name": 5}, {"name": "x", "rpm": "lots"}, {"name": "x", "nope": 1}, [1]):
        status, answer = _post(gateway, "keys", body)
        assert status == 400, answer
        message = answer["error"]["message"]
        assert ".py" not in message and "/src/" not in message and "File " not in message
        assert len(message) < 500


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "after",
    [
        _cursor("2026-01-01T00:00:00+00:00|" + "9" * 30),
        _cursor("0001-01-01T00:00:00+23:59|1"),
        _cursor("9999-12-31T23:59:59-23:59|1"),
        _cursor("2026-01-01T00:00:00+00:00|-1"),
        "%%%",
    ],
)
def test_forged_log_cursors_are_refused(gateway: Gateway, after: str) -> None:
    with admin(gateway) as http:
        response = http.get("/admin/logs", params={"after": after})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "after"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/admin/usage/timeseries", {"until": "0001-01-01T00:00:00Z"}),
        ("/admin/usage/timeseries", {"since": "9999-12-31T23:59:59Z"}),
        ("/admin/logs", {"since": "0001-01-01T00:00:00+23:59"}),
        ("/admin/logs", {"until": "9999-12-31T23:59:59-23:59"}),
    ],
)
def test_times_outside_the_calendar_are_refused(
    gateway: Gateway, path: str, params: dict[str, str]
) -> None:
    with admin(gateway) as http:
        response = http.get(path, params=params)
    assert response.status_code == 400, response.text
