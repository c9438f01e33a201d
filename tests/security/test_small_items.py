"""Finding 13's small items: what start-up prints, /metrics access, reload's role check,
and `n` against a key's output-token cap. (Infinities, past expiries and file paths in
messages are in test_admin_input.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.security.conftest import (
    MASTER,
    METRICS_TOKEN,
    chat_body,
    create,
    role_token,
    unique,
)
from tests.support.processes import Gateway, free_port


def test_a_master_key_from_the_environment_is_never_printed(tmp_path: Path) -> None:
    port = free_port()
    chosen = "sk-operator-chosen-" + unique("secret")
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY")}
    env.update(GATEWAY_MASTER_KEY=chosen, GATEWAY_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "llm_proxy", "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = _read_until(process, "curl ")
        assert chosen not in printed
        assert "$GATEWAY_MASTER_KEY" in printed
        models = httpx.get(
            f"http://127.0.0.1:{port}/v1/models", headers={"authorization": f"Bearer {chosen}"}
        )
        assert models.status_code == 200
    finally:
        process.terminate()
        rest, _ = process.communicate(timeout=15)
    assert chosen not in rest


def _read_until(process: subprocess.Popen[str], marker: str, timeout_s: float = 90) -> str:
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError("".join(seen))


def test_metrics_need_their_token_when_one_is_configured(gateway: Gateway) -> None:
    assert httpx.get(f"{gateway.url}/metrics").status_code == 401
    wrong = {"authorization": "Bearer not-the-token"}
    assert httpx.get(f"{gateway.url}/metrics", headers=wrong).status_code == 401
    key = create(gateway, "keys", name=unique("scraper"))["key"]
    tenant = {"authorization": f"Bearer {key}"}
    assert httpx.get(f"{gateway.url}/metrics", headers=tenant).status_code == 401
    scraper = {"authorization": f"Bearer {METRICS_TOKEN}"}
    scraped = httpx.get(f"{gateway.url}/metrics", headers=scraper)
    assert scraped.status_code == 200
    assert "gateway_requests_total" in scraped.text or "# TYPE" in scraped.text


def test_config_reload_checks_the_admin_role(gateway: Gateway) -> None:
    for role, status in (("admin", 200), ("developer", 403), ("readonly", 403)):
        with gateway.client(role_token(gateway, role)) as http:
            answered = http.post("/admin/config/reload")
        assert answered.status_code == status, (role, answered.text)
    with gateway.client("sk-gw-not-a-key") as http:
        assert http.post("/admin/config/reload").status_code == 401


def test_providers_health_is_for_operators(gateway: Gateway) -> None:
    with gateway.client(role_token(gateway, "readonly")) as http:
        assert http.get("/v1/providers/health").status_code == 200
    key = create(gateway, "keys", name=unique("tenant"))["key"]
    with gateway.client(key) as http:
        assert http.get("/v1/providers/health").status_code == 401


def test_n_choices_count_against_the_output_cap(gateway: Gateway) -> None:
    key = create(gateway, "keys", name=unique("capped"), max_tokens_cap=100)["key"]
    with gateway.client(key) as http:
        over = http.post("/v1/chat/completions", json=chat_body(n=50, max_tokens=10))
        assert over.status_code == 400, over.text
        assert over.json()["error"]["param"] == "max_tokens"
        too_many = http.post("/v1/chat/completions", json=chat_body(n=101))
        assert too_many.status_code == 400, too_many.text
        within = http.post("/v1/chat/completions", json=chat_body(n=4, max_tokens=25))
        assert within.status_code == 200, within.text
        bounded = http.post("/v1/chat/completions", json=chat_body(n=5))
        assert bounded.status_code == 200, bounded.text
    with gateway.client(MASTER) as http:
        assert http.post("/v1/chat/completions", json=chat_body(n=50)).status_code == 200
