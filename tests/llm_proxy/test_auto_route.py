"""`model: "auto"` when the router-service cannot answer: the group's default serves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

from tests.llm_proxy.conftest import backend
from tests.support.processes import Gateway, Simulator, free_port


def test_auto_falls_back_to_the_default_model_when_the_router_is_down(
    simulator: Simulator, make_gateway: Callable[[dict[str, Any]], Gateway]
) -> None:
    gw = make_gateway(
        {
            "backends": [
                backend(simulator, "weak", "gpt-4o-mini"),
                backend(simulator, "strong", "gpt-4o"),
            ],
            "routing": {
                "auto_groups": {"auto": {"default": "gpt-4o-mini", "strong": "gpt-4o"}},
                "router_service": {"url": f"http://127.0.0.1:{free_port()}", "deadline_ms": 50},
            },
        }
    )
    client = openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": "Prove Fermat's last theorem"}]
    )
    assert raw.headers["x-gateway-model"] == "gpt-4o-mini"
    assert raw.headers["x-gateway-route"] == "group=auto; model=gpt-4o-mini; fallback=unavailable"
    assert "auto" in {m.id for m in client.models.list()}
