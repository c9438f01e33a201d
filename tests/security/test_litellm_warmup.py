"""Finding 9: loading LiteLLM (seconds of imports) never runs on the event loop.

A gateway whose backends all speak OpenAI's format loads LiteLLM when the first request
needs translation (here an Anthropic Messages request to an OpenAI-format backend): other
requests are answered all the while. A gateway with a backend that needs translation for
every request loads it at start, before any request, and says so in its log.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.security.conftest import MASTER, MakeGateway, backend
from tests.support.processes import Simulator


def test_other_requests_are_served_while_litellm_loads(
    make_gateway: MakeGateway, simulator: Simulator
) -> None:
    gw = make_gateway(backends=[backend(simulator, "mini", "gpt-4o-mini")])
    body = {
        "model": "gpt-4o-mini",
        "max_tokens": 8,
        "messages": [{"role": "user", "content": "hi"}],
    }
    served: list[float] = []
    with ThreadPoolExecutor(1) as pool, httpx.Client(base_url=gw.url, timeout=120) as http:
        headers = {"authorization": f"Bearer {MASTER}"}
        translated = pool.submit(http.post, "/v1/messages", json=body, headers=headers)
        while not translated.done():
            started = time.monotonic()
            assert http.get("/health").status_code == 200
            served.append(time.monotonic() - started)
            time.sleep(0.05)
        assert translated.result().status_code == 200, translated.result().text
    # On the loop, the import held every other request until it was done: one or two
    # answers at most while it ran. Off the loop, the gateway kept answering throughout.
    assert len(served) >= 5, served
    assert sorted(served)[len(served) // 2] < 1.0, served


def test_a_backend_that_always_needs_litellm_loads_it_at_start(
    make_gateway: MakeGateway, simulator: Simulator
) -> None:
    claude = {
        "name": "claude",
        "provider": "anthropic",
        "endpoint": simulator.url,
        "model": "claude-3-5-haiku-latest",
        "api_key_ref": "env:GATEWAY_MASTER_KEY",
    }
    gw = make_gateway(backends=[backend(simulator, "mini", "gpt-4o-mini"), claude])
    assert gw.output is not None
    lines = gw.output.lines
    deadline = time.monotonic() + 120
    try:
        while not any("LiteLLM loaded" in line for line in lines):
            assert time.monotonic() < deadline, lines
            time.sleep(0.2)
    finally:
        gw.process.terminate()
        gw.output.text(30)
    # Loaded with no request sent: nothing of it is left for the first request to wait on.
    assert not any('"request"' in line for line in lines)
