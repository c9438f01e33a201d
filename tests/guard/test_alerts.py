"""Guardrail alerts through the official openai SDK: what fired goes to a webhook (a real
receiver on loopback), by check and entity, never with the text it matched."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.guard.conftest import MODEL, configure
from tests.support.processes import Gateway
from tests.support.webhooks import Webhook

WORDS = ["project falcon", "operation nightjar"]


@pytest.fixture(scope="module")
def webhook() -> Iterator[Webhook]:
    receiver = Webhook()
    yield receiver
    receiver.stop()


def _policy(action: str) -> dict[str, object]:
    checks = {"deny_list": {"words": WORDS, "action": action}}
    return {"name": "deny", "on": ["request"], "checks": checks}


def _client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=gw.master_key, max_retries=0)


def test_an_alert_passes_and_is_posted_without_the_text(
    gateway: Gateway, sim: httpx.Client, webhook: Webhook
) -> None:
    webhook.received.clear()
    configure(gateway, {"policies": [_policy("alert")], "alerts": {"webhook_url": webhook.url}})
    raw = _client(gateway).chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "how is Project Falcon doing?"}]
    )
    assert raw.parse().choices[0].message.content
    assert raw.headers["x-gateway-guardrails"] == "request/deny_list.word=alert:1"
    (posted,) = webhook.wait_for(1)
    assert posted["type"] == "guardrails.hit"
    assert posted["request_id"] == raw.headers["x-request-id"]
    assert posted["model"] == MODEL and posted["status"] == 200
    assert posted["hits"] == [
        {"stage": "request", "check": "deny_list", "entity": "word", "action": "alert", "count": 1}
    ]
    assert "falcon" not in json.dumps(posted).lower()


def test_a_block_is_posted_and_only_the_actions_asked_for(
    gateway: Gateway, sim: httpx.Client, webhook: Webhook
) -> None:
    webhook.received.clear()
    alerts = {"webhook_url": webhook.url, "actions": ["block"]}
    configure(gateway, {"policies": [_policy("block")], "alerts": alerts})
    with pytest.raises(openai.BadRequestError) as refused:
        _client(gateway).chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": "operation nightjar status"}]
        )
    (posted,) = webhook.wait_for(1)
    assert posted["request_id"] == refused.value.response.headers["x-request-id"]
    assert posted["status"] == 400 and posted["hits"][0]["action"] == "block"
    # An alert-only policy now posts nothing: alerts.actions names block only.
    configure(gateway, {"policies": [_policy("alert")], "alerts": alerts})
    _client(gateway).chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": "operation nightjar status"}]
    )
    assert len(webhook.wait_for(2, timeout_s=1.0)) == 1


def test_a_bad_webhook_url_is_refused(gateway: Gateway) -> None:
    config = gateway.config_path.read_text()
    try:
        with pytest.raises(httpx.HTTPStatusError) as refused:
            configure(gateway, {"alerts": {"webhook_url": "ftp://alerts.internal/x"}})
        assert "webhook_url" in refused.value.response.text
    finally:
        gateway.config_path.write_text(config)
