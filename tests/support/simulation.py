"""The upstream simulator as pytest fixtures, for every test package that fronts one.

A package says how its simulator behaves with a `sim_config` fixture (package scope, the
simulator's YAML config as a dict); it then gets `simulator`, one process per package,
and `sim`, a client of it reset to no scripted faults and an empty request record before
each test. Registered for the whole suite in tests/conftest.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.processes import Simulator, start_simulator


@pytest.fixture(scope="package")
def simulator(
    sim_config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Simulator]:
    sim = start_simulator(sim_config, tmp_path_factory.mktemp("sim"))
    yield sim
    sim.stop()


@pytest.fixture
def sim(simulator: Simulator) -> Iterator[httpx.Client]:
    """The package's simulator, with no scripted faults and an empty request record."""
    with simulator.client() as client:
        client.post("/_sim/reset").raise_for_status()
        yield client
