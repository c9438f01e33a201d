from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.router_service.service_process import running_service

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routing"


@pytest.fixture(scope="session")
def service_url() -> Iterator[str]:
    with running_service() as url:
        yield url


@pytest.fixture(scope="session")
def client(service_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service_url, timeout=30.0) as client:
        yield client
