"""The gateway holds a run to its max_calls itself, whatever the optimizer does: the delegated
credential admits that many sub-calls (and the deadline fallback's one), no more."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.optimizer.conftest import Stack

pytestmark = pytest.mark.timeout(600)
QUESTION = [{"role": "user", "content": "How many legs do three spiders have?"}]


def test_the_gateway_refuses_sub_calls_past_max_calls(stack: Stack) -> None:
    with stack.reconfigured(
        "optimizer", {"url": f"http://127.0.0.1:{stack.tap.port}", "max_calls": 1}
    ):
        with pytest.raises(Exception, match="max_calls of 1"):
            stack.client().chat.completions.create(
                model="gpt-4o-mini",
                messages=QUESTION,
                max_tokens=8,
                extra_body={"optillm_approach": "moa"},  # about 3 sub-calls
            )
        seen = set(stack.tap.credentials())
        result: dict[str, Any] = {}

        def parent() -> None:
            with stack.gateway.client() as client:
                result["answer"] = client.post(
                    "/v1/chat/completions",
                    json={"model": "m-slow", "messages": QUESTION, "max_tokens": 8,
                          "optillm_approach": "re2"},
                )  # fmt: skip

        running = threading.Thread(target=parent)
        running.start()
        deadline = time.monotonic() + 30
        while not (fresh := [c for c in stack.tap.credentials() if c not in seen]):
            assert time.monotonic() < deadline, "no delegated credential went to the optimizer"
            time.sleep(0.01)
        headers = {"authorization": f"Bearer {fresh[0]}"}
        body = {"model": "m-slow", "messages": QUESTION, "max_tokens": 8}
        with (
            httpx.Client(base_url=stack.gateway.url, headers=headers, timeout=30) as client,
            ThreadPoolExecutor(3) as pool,
        ):
            extra = list(
                pool.map(lambda _: client.post("/v1/chat/completions", json=body), range(3))
            )
        running.join(timeout=60)
    refused = [r for r in extra if r.status_code == 429]
    assert len(refused) >= 2
    assert all(r.json()["error"]["code"] == "optimizer_max_calls" for r in refused)
    # One sub-call and the fallback's one, between the optimizer's and the extra ones.
    parent_id = result["answer"].headers["x-request-id"]
    assert len(stack.sub_calls(parent_id, expected=2)) == 2
