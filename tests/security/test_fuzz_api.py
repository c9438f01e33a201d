"""Fuzzing the gateway's own OpenAPI document: every operation, as every kind of caller.

Schemathesis generates requests from `/openapi.json`, valid ones and ones that break the
schema, for each operation; each is sent as the master key, an admin, a developer and a
readonly token, and a virtual key. No answer may be a 5xx and none may hang. The run is
bounded (examples per operation and a time budget), so it stays a test, not a campaign.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis

# Loaded here, at collection, not lazily by `openapi.from_dict` deep in the test: pytest
# rewrites schemathesis' modules as it imports them (it is a pytest plugin), and CPython
# 3.11's parser can fail that deep in a stack ("AST constructor recursion depth mismatch").
import schemathesis.specs.openapi.schemas
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

from tests.security.conftest import MASTER, create, role_token, security_config, unique
from tests.support.processes import Gateway, Simulator, start_gateway

# Breadth first: every operation once as every caller, then broken inputs, then more of
# both while the budget lasts.
PASSES = (
    (GenerationMode.POSITIVE, 1),
    (GenerationMode.NEGATIVE, 1),
    (GenerationMode.POSITIVE, 3),
    (GenerationMode.NEGATIVE, 3),
)
BUDGET_S = 40.0
REQUEST_TIMEOUT_S = 10.0


@pytest.fixture(scope="module")
def fuzzed(simulator: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """A gateway of its own: the fuzzer creates and deletes what it likes there."""
    gw = start_gateway(security_config(simulator), tmp_path_factory.mktemp("fuzz"), MASTER)
    yield gw
    gw.stop()


def _callers(gateway: Gateway) -> dict[str, dict[str, str]]:
    virtual = create(gateway, "keys", name=unique("fuzz"))["key"]
    secrets = {
        "master": MASTER,
        "admin": role_token(gateway, "admin"),
        "developer": role_token(gateway, "developer"),
        "readonly": role_token(gateway, "readonly"),
        "virtual key": virtual,
    }
    return {name: {"authorization": f"Bearer {secret}"} for name, secret in secrets.items()}


def test_no_operation_answers_5xx_or_hangs_for_any_caller(fuzzed: Gateway) -> None:
    document = httpx.get(f"{fuzzed.url}/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    callers = _callers(fuzzed)
    problems: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30
    session = requests.Session()
    started = time.monotonic()
    completed = []
    for mode, examples in PASSES:
        done = 0
        for operation in operations:
            if time.monotonic() - started > BUDGET_S:
                break
            _fuzz(operation, mode, examples, fuzzed, callers, session, problems)
            done += 1
        completed.append(done)
    print(f"fuzzed {completed} operations per pass in {time.monotonic() - started:.1f} s")
    assert not problems, "\n".join(problems[:20])
    # At least every operation once as every caller, whatever the machine's load.
    assert completed[0] == len(operations)


def _fuzz(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    gateway: Gateway,
    callers: dict[str, dict[str, str]],
    session: requests.Session,
    problems: list[str],
) -> None:
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception:  # an operation with nothing to break in negative mode
        return

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def send(case: Case) -> None:
        for caller, headers in callers.items():
            problem = _call(case, gateway, headers, session)
            if problem is not None:
                problems.append(f"{operation.label} as {caller} ({mode.value}): {problem}")

    try:
        send()
    except Unsatisfiable:  # negative mode, and nothing in the operation to break
        return


def _call(
    case: Case, gateway: Gateway, headers: dict[str, str], session: requests.Session
) -> str | None:
    try:
        response = case.call(
            base_url=gateway.url, session=session, headers=headers, timeout=REQUEST_TIMEOUT_S
        )
    except requests.Timeout:
        return f"no answer in {REQUEST_TIMEOUT_S} s"
    except requests.ConnectionError as exc:
        return f"connection dropped: {exc}"
    except (ValueError, TypeError):
        # The client library would not send it (a header value no HTTP library writes):
        # nothing reached the gateway.
        return None
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:300]}"
    return None
