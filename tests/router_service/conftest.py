from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.router_service.service_process import running_service

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "routing"
ADMIN_TOKEN = "admin-secret"


@pytest.fixture(scope="session")
def service_url() -> Iterator[str]:
    # One service for the whole package: its start-up (torch, RouteLLM) is the slow part.
    # Tests that recalibrate touch only the groups kept for them (by-share, tiers).
    with running_service({"ROUTER_SERVICE_ADMIN_TOKEN": ADMIN_TOKEN}) as url:
        yield url


@pytest.fixture(scope="session")
def client(service_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service_url, timeout=30.0) as client:
        yield client
