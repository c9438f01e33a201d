"""The other embedder: the router-service's whole MiniLM over loopback, as configured by URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cache.conftest import configure, miss_and_store, stats, verdict
from tests.cache.test_semantic import QUESTION, TRAPS, VARIANTS
from tests.router_service.service_process import running_service
from tests.support.processes import Gateway


@pytest.fixture(scope="module")
def router_service() -> Iterator[str]:
    with running_service() as url:
        yield url


def test_the_router_service_embeds_for_the_semantic_cache(
    gw: Gateway, router_service: str, marker: str
) -> None:
    # A generous deadline: the whole encoder takes tens of milliseconds on a busy CPU.
    configure(
        gw, semantic={"enabled": True, "embedder": router_service, "embedder_timeout_ms": 5000}
    )
    miss_and_store(gw, f"{marker} {QUESTION}")
    assert verdict(gw, f"{marker} {VARIANTS['filler']}").startswith("semantic;sim=")
    assert verdict(gw, f"{marker} {TRAPS['number']}") == "miss"
    assert stats(gw)["semantic"]["embedder"].startswith(f"remote:{router_service}")
