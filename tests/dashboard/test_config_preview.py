"""`POST /admin/config/preview`: the diff the Backends & routing page shows before applying.

Validated as a PUT is, written nowhere: the version list stays as it was. Against the
package's gateway, which runs `config.mode: database`.
"""

from __future__ import annotations

import copy
from contextlib import closing
from typing import Any

from tests.dashboard.test_session import issue_token, log_in
from tests.support.processes import Gateway


def _current(gateway: Gateway) -> dict[str, Any]:
    with gateway.client() as admin:
        answer = admin.get("/admin/config")
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body


def _newest_version(gateway: Gateway) -> int:
    with gateway.client() as admin:
        return int(admin.get("/admin/config/versions").json()["data"][0]["version"])


def test_preview_shows_the_diff_and_writes_nothing(gateway: Gateway) -> None:
    current = _current(gateway)
    document = copy.deepcopy(current["document"])
    big = next(b for b in document["backends"] if b["name"] == "big")
    big["weight"] = big["weight"] + 5
    document["routing"]["fallbacks"]["gpt-4o"] = ["gpt-4o-mini"]
    before = _newest_version(gateway)
    with gateway.client() as admin:
        answer = admin.post("/admin/config/preview", json={"document": document})
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["version"] == current["version"] == before
    assert answer.headers["etag"] == f'"{before}"'
    changes = {c["path"]: (c["before"], c["after"]) for c in preview["diff"]}
    assert changes == {
        "backends.big.weight": (big["weight"] - 5, big["weight"]),
        "routing.fallbacks.gpt-4o": (None, ["gpt-4o-mini"]),
    }
    assert _newest_version(gateway) == before
    assert _current(gateway)["document"] == current["document"]


def test_preview_refuses_a_bad_document_as_a_put_would(gateway: Gateway) -> None:
    document = _current(gateway)["document"]
    document["backends"][0]["weight"] = -1
    with gateway.client() as admin:
        answer = admin.post("/admin/config/preview", json={"document": document})
        put = admin.put("/admin/config", json={"document": document})
    assert answer.status_code == put.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_config"
    assert "weight" in error["message"]
    assert error["message"] == put.json()["error"]["message"]


def test_preview_needs_the_admin_role(gateway: Gateway) -> None:
    document = _current(gateway)["document"]
    browser, session = log_in(gateway, issue_token(gateway, "readonly"))
    with closing(browser):
        csrf = {"x-csrf-token": session["csrf_token"]}
        answer = browser.post("/admin/config/preview", json={"document": document}, headers=csrf)
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "insufficient_role"
