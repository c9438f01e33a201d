"""Kong follows key changes made through the admin API at once (`kong.admin_url`), not on
a timer: a created key is a consumer, a rotation adds its new secret, a revocation
removes it — each pushed to a Kong Admin API peer within seconds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from llm_proxy.store.credentials import hash_secret

from tests.kong.admin_peer import AdminPeer
from tests.kong.conftest import BASE
from tests.support.processes import start_gateway


def loaded_consumers(peer: AdminPeer, after: int) -> dict[str, list[str]] | None:
    """The consumers of the newest config loaded after the first `after` requests."""
    loads = [r for r in peer.state.received[after:] if r.method == "POST" and r.path == "/config"]
    if not loads:
        return None
    consumers = loads[-1].body.get("consumers") or []
    return {c["username"]: [k["key"] for k in c["keyauth_credentials"]] for c in consumers}


def pushed(peer: AdminPeer, after: int, check: Any, limit_s: float = 3.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        consumers = loaded_consumers(peer, after)
        if consumers is not None and check(consumers):
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"not pushed within {limit_s}s: {loaded_consumers(peer, after)}")


def test_key_changes_reach_kong_at_once(admin_peer: AdminPeer, tmp_path: Path) -> None:
    config = {
        "backends": [{"name": "x", "provider": "openai", "model": "gpt-4o-mini"}],
        # An hour-long timer: only the push on change can be seen within the test.
        "kong": {"admin_url": admin_peer.url, "base": str(BASE), "interval_s": 3600},
    }
    gateway = start_gateway(config, tmp_path)
    try:
        pushed(admin_peer, 0, lambda consumers: consumers == {}, limit_s=30)
        with gateway.client() as http:
            mark = len(admin_peer.state.received)
            key = http.post("/admin/keys", json={"name": "edge"}).json()
            pushed(admin_peer, mark, lambda c: c.get(key["id"]) == [hash_secret(key["key"])])

            mark = len(admin_peer.state.received)
            rotated = http.post(f"/admin/keys/{key['id']}/rotate", json={"grace_s": 600}).json()
            both = sorted([hash_secret(key["key"]), hash_secret(rotated["key"])])
            pushed(admin_peer, mark, lambda c: sorted(c.get(key["id"], [])) == both)

            mark = len(admin_peer.state.received)
            assert http.post(f"/admin/keys/{key['id']}/revoke").status_code == 200
            elapsed = pushed(admin_peer, mark, lambda c: key["id"] not in c)
        print(f"revocation pushed to Kong after {elapsed * 1000:.0f} ms")
    finally:
        gateway.stop()
