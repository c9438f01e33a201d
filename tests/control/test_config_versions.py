"""The config as versioned data: two gateways on one Postgres and Redis, in database mode.

A change made through one replica is served by the other within a second (measured
here); a bad change is refused with every problem named and changes nothing anywhere;
rollback, If-Match, file mode's 409, and one audit entry per write.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.control.conftest import MASTER, admin, chat, control_config, create
from tests.support.databases import scratch_database
from tests.support.processes import Gateway, Simulator, start_gateway

# A long poll: within a second only the Redis message can carry a change.
DATABASE_MODE = {"mode": "database", "poll_interval_s": 5}


@pytest.fixture(scope="module")
def replicas(
    simulator: Simulator, redis_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Gateway, Gateway]]:
    """Two gateways in database mode on a database of this module's own."""
    directory = tmp_path_factory.mktemp("replicas")
    with scratch_database("control") as url:
        config = control_config(
            simulator, url, redis_prefix, directory / "spool", config=DATABASE_MODE
        )
        first = start_gateway(config, directory, master_key=MASTER)
        try:
            second = start_gateway(config, directory, master_key=MASTER)
            yield first, second
            second.stop()
        finally:
            first.stop()


def read_config(gateway: Gateway) -> httpx.Response:
    with admin(gateway) as http:
        response = http.get("/admin/config")
    assert response.status_code == 200, response.text
    return response


def put_config(
    gateway: Gateway, document: dict[str, Any], if_match: str | None = None, comment: str = ""
) -> httpx.Response:
    headers = {"if-match": if_match} if if_match is not None else {}
    with admin(gateway) as http:
        return http.put(
            "/admin/config", json={"document": document, "comment": comment}, headers=headers
        )


def wait_applied(gateway: Gateway, version: int, started: float, limit_s: float = 1.0) -> float:
    """Seconds from `started` until `gateway` runs `version`; fails past `limit_s`."""
    while True:
        elapsed = time.monotonic() - started
        if read_config(gateway).json()["applied_version"] == version:
            return elapsed
        assert elapsed < limit_s, f"version {version} not applied after {elapsed:.2f}s"
        time.sleep(0.01)


def deployments(gateway: Gateway, model: str, count: int) -> set[str]:
    seen = set()
    for _ in range(count):
        response = chat(gateway, MASTER, model=model)
        assert response.status_code == 200, response.text
        seen.add(response.headers["x-gateway-deployment"])
    return seen


def current(gateway: Gateway) -> tuple[int, dict[str, Any]]:
    body = read_config(gateway).json()
    return body["version"], body["document"]


def with_backend(document: dict[str, Any], **backend: Any) -> dict[str, Any]:
    template = document["backends"][0]
    return {**document, "backends": [*document["backends"], {**template, **backend}]}


def test_the_file_bootstraps_version_1(replicas: tuple[Gateway, Gateway]) -> None:
    first, second = replicas
    answer = read_config(first)
    body = answer.json()
    assert body["mode"] == "database" and body["version"] == 1 and body["author"] == "bootstrap"
    assert answer.headers["etag"] == '"1"'
    assert [b["name"] for b in body["document"]["backends"]][:2] == ["mini", "big"]
    assert read_config(second).json()["document"] == body["document"]


def test_a_backend_added_on_one_replica_is_served_by_the_other_within_a_second(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    version, document = current(first)
    assert chat(second, MASTER, model="m-late").status_code == 404
    started = time.monotonic()
    response = put_config(
        first, with_backend(document, name="late", model="m-late"), f'"{version}"', "add late"
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == version + 1
    assert response.headers["etag"] == f'"{version + 1}"'
    elapsed = wait_applied(second, version + 1, started)
    served = chat(second, MASTER, model="m-late")
    assert served.status_code == 200 and served.headers["x-gateway-deployment"] == "late"
    print(f"backend added on A, served by B after {elapsed * 1000:.0f} ms")


def test_a_weight_changed_on_one_replica_moves_the_traffic_of_the_other(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    version, document = current(first)
    document = with_backend(document, name="heavy", model="m-split", weight=1)
    document = with_backend(document, name="light", model="m-split", weight=1)
    assert put_config(first, document).status_code == 200
    wait_applied(second, version + 1, time.monotonic(), limit_s=2.0)
    assert deployments(second, "m-split", 30) == {"heavy", "light"}
    for backend in document["backends"]:
        if backend["name"] == "heavy":
            backend["weight"] = 100000
        if backend["name"] == "light":
            backend["weight"] = 0.0001
    started = time.monotonic()
    assert put_config(first, document, f'"{version + 1}"').status_code == 200
    elapsed = wait_applied(second, version + 2, started)
    assert deployments(second, "m-split", 30) == {"heavy"}
    with admin(second) as http:
        written = http.get(f"/admin/config/versions/{version + 2}").json()
    assert {"path": "backends.heavy.weight", "before": 1.0, "after": 100000.0} in written["diff"]
    print(f"weight changed on A, applied by B after {elapsed * 1000:.0f} ms")


def test_a_bad_change_names_every_problem_and_changes_nothing(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, _ = replicas
    version, document = current(first)
    index = len(document["backends"])
    bad = with_backend(document, name="broken", model="m-broken", weight=-1, timeout_s=0)
    bad["routing"] = {**bad["routing"], "strategy": "fastest", "surprise": True}
    bad["gateway"] = {"listen": {"port": 1}}
    response = put_config(first, bad, f'"{version}"')
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_config"
    lines = error["message"].splitlines()
    assert lines == ["gateway: set in each replica's own config file, not through the admin API"]
    del bad["gateway"]
    lines = put_config(first, bad, f'"{version}"').json()["error"]["message"].splitlines()
    for fragment in (
        f"backends.{index}.weight: Input should be greater than 0",
        f"backends.{index}.timeout_s: Input should be greater than 0",
        "routing.strategy: Input should be",
        "routing.surprise: unknown field",
    ):
        assert sum(line.startswith(fragment) for line in lines) == 1, (fragment, lines)
    assert len(lines) == 4
    dangling = {**document, "routing": {**document["routing"], "fallbacks": {"gpt-4o": ["x"]}}}
    dangling["routing"]["aliases"] = {"quick": "nowhere"}
    lines = put_config(first, dangling).json()["error"]["message"].splitlines()
    assert lines == [
        "routing.aliases.quick: no backend serves 'nowhere'",
        "routing.fallbacks.gpt-4o: no backend serves 'x'",
    ]
    unresolvable = with_backend(document, name="keyless", api_key_ref="env:GW_TEST_UNSET_KEY")
    lines = put_config(first, unresolvable).json()["error"]["message"].splitlines()
    assert lines == [
        f"backends.{index}.api_key_ref: environment variable GW_TEST_UNSET_KEY is not set"
    ]
    for replica in replicas:
        answer = read_config(replica).json()
        assert answer["version"] == answer["applied_version"] == version
        assert answer["document"] == document
    with admin(first) as http:
        assert http.get("/admin/config/versions").json()["data"][0]["version"] == version


def test_rollback_restores_the_earlier_routing(replicas: tuple[Gateway, Gateway]) -> None:
    first, second = replicas
    version, document = current(first)
    routed = {**document, "routing": {**document["routing"], "aliases": {"fast": "gpt-4o-mini"}}}
    assert put_config(first, routed).status_code == 200
    wait_applied(second, version + 1, time.monotonic(), limit_s=2.0)
    assert chat(second, MASTER, model="fast").status_code == 200
    with admin(first) as http:
        response = http.post("/admin/config/rollback", json={"version": version})
        assert response.status_code == 200, response.text
        assert response.json()["version"] == version + 2
        rolled = http.get(f"/admin/config/versions/{version + 2}").json()
        missing = http.post("/admin/config/rollback", json={"version": 9999})
    assert missing.status_code == 404
    assert rolled["rolled_back_to"] == version and rolled["document"] == document
    assert {"path": "routing.aliases.fast", "before": "gpt-4o-mini", "after": None} in rolled[
        "diff"
    ]
    wait_applied(second, version + 2, time.monotonic())
    assert chat(second, MASTER, model="fast").status_code == 404


def test_writers_with_a_stale_if_match_get_412(replicas: tuple[Gateway, Gateway]) -> None:
    first, second = replicas
    version, document = current(first)
    one = with_backend(document, name="from-a", model="m-a")
    two = with_backend(document, name="from-b", model="m-b")
    assert put_config(first, one, f'"{version}"').status_code == 200
    stale = put_config(second, two, f'"{version}"')
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "stale_config_version"
    with admin(second) as http:
        rollback = http.post(
            "/admin/config/rollback", json={"version": 1}, headers={"if-match": f'"{version}"'}
        )
    assert rollback.status_code == 412
    names = [b["name"] for b in read_config(second).json()["document"]["backends"]]
    assert "from-a" in names and "from-b" not in names


def test_file_mode_refuses_writes_with_409(gateway: Gateway) -> None:
    answer = read_config(gateway).json()
    assert answer["mode"] == "file" and answer["version"] is None
    response = put_config(gateway, answer["document"])
    assert response.status_code == 409
    assert "gateway.yaml is the source of truth" in response.json()["error"]["message"]
    with admin(gateway) as http:
        assert http.post("/admin/config/rollback", json={"version": 1}).status_code == 409


def test_readonly_reads_the_config_but_may_not_write_it(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, _ = replicas
    token = create(first, "tokens", name="viewer", role="readonly")["token"]
    with admin(first, token) as http:
        document = http.get("/admin/config").json()["document"]
        assert http.get("/admin/config/versions").status_code == 200
        refused = http.put("/admin/config", json={"document": document})
    assert refused.status_code == 403


def test_each_config_write_is_one_audit_entry_with_its_diff(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    version, document = current(first)
    response = put_config(first, with_backend(document, name="audited", model="m-audited"))
    assert response.status_code == 200
    with admin(second) as http:
        found = http.get("/admin/audit", params={"target": "config"}).json()["data"]
    entry = found[0]
    assert entry["action"] == "PUT /admin/config" and entry["actor"] == "master"
    assert entry["request_id"] == response.headers["x-request-id"]
    assert entry["before"]["config"]["version"] == version
    assert entry["after"]["config"]["version"] == version + 1
    assert entry["before"]["config"]["backends.audited"] is None
    assert entry["after"]["config"]["backends.audited"]["model"] == "m-audited"
    assert len([e for e in found if e["after"]["config"]["version"] == version + 1]) == 1


def test_resource_endpoints_write_versions_that_the_other_replica_serves(
    replicas: tuple[Gateway, Gateway],
) -> None:
    first, second = replicas
    version, document = current(first)
    template = {k: v for k, v in document["backends"][0].items() if k in ("provider", "endpoint")}
    with admin(first) as http:
        added = http.post("/admin/backends", json={**template, "name": "res", "model": "m-res"})
        assert added.status_code == 201, added.text
        assert added.headers["etag"] == f'"{version + 1}"'
        twice = http.post("/admin/backends", json={**template, "name": "res", "model": "m-res"})
        assert twice.status_code == 409
        bad = http.patch("/admin/backends/res", json={"weight": 0, "priority": -1})
        assert bad.status_code == 400
        assert len(bad.json()["error"]["message"].splitlines()) == 2
        assert http.patch("/admin/backends/nope", json={"weight": 2}).status_code == 404
        changed = http.patch("/admin/backends/res", json={"weight": 5})
        assert changed.status_code == 200 and changed.json()["weight"] == 5
        stale = http.patch("/admin/backends/res", json={"weight": 6}, headers={"if-match": '"1"'})
        assert stale.status_code == 412
        group = http.put("/admin/routing/groups/m-res", json={"strategy": "priority"})
        # The stored document spells out every field of a group, unset ones as null.
        assert group.status_code == 200
        assert group.json() == {"strategy": "priority", "deadlines": None, "hedge": None}
        auto = http.put("/admin/routing/auto-groups/smart", json={"default": "m-res"})
        assert auto.status_code == 200, auto.text
        fallback = http.put("/admin/routing/fallbacks/m-res", json=["gpt-4o-mini"])
        assert fallback.status_code == 200 and fallback.json() == ["gpt-4o-mini"]
        dangling = http.put("/admin/routing/fallbacks/m-res", json=["m-nowhere"])
        assert dangling.json()["error"]["message"] == (
            "routing.fallbacks.m-res: no backend serves 'm-nowhere'"
        )
        rules = http.put("/admin/limits/rules", json={"rules": [{"per": "model", "rpm": 1000}]})
        assert rules.status_code == 200, rules.text
        newest = int(rules.headers["etag"].strip('"'))
        assert newest == version + 6
        assert http.get("/admin/routing/groups").json()["m-res"] == group.json()
        assert http.get("/admin/backends/res").json()["weight"] == 5
    wait_applied(second, newest, time.monotonic())
    with admin(second) as http:
        assert http.get("/admin/limits/rules").json()["rules"][0]["rpm"] == 1000
    assert chat(second, MASTER, model="smart").headers["x-gateway-deployment"] == "res"
    with admin(first) as http:
        assert http.delete("/admin/routing/auto-groups/smart").status_code == 204
        assert http.delete("/admin/routing/fallbacks/m-res").status_code == 204
        assert http.delete("/admin/routing/groups/m-res").status_code == 204
        assert http.delete("/admin/routing/groups/m-res").status_code == 404
        assert http.delete("/admin/backends/res").status_code == 204
        assert http.get("/admin/backends/res").status_code == 404
