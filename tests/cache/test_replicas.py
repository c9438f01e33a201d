"""Replicas share one cache through Redis: exact entries, the semantic index, and clears."""

from __future__ import annotations

import time

import httpx

from tests.cache.conftest import Gateways, miss_and_store, received, verdict

PROMPT = "The train leaves at 9 and travels 120 km at 80 km per hour. When does it arrive?"
VARIANT = "the train leaves at 9 and travels 120 km at 80 km per hour.   when does it arrive"
LATER = "A tank holds 40 litres and leaks 2 litres per hour. When is it empty?"
LATER_VARIANT = "Hi! A tank holds 40 litres and leaks 2 litres per hour; when is it empty"


def test_an_answer_written_by_one_replica_hits_from_another(
    gateways: Gateways, sim: httpx.Client, marker: str
) -> None:
    miss_and_store(gateways.first, f"{marker} {PROMPT}")
    assert verdict(gateways.second, f"{marker} {PROMPT}") == "hit"
    assert verdict(gateways.second, f"{marker} {VARIANT}").startswith("semantic;")
    assert len(received(sim)) == 1


def test_later_additions_reach_a_replica_that_already_holds_the_scope(
    gateways: Gateways, sim: httpx.Client, marker: str
) -> None:
    # The second replica loads this scope now, from Redis, on its first lookup in it.
    miss_and_store(gateways.first, f"{marker} {PROMPT}")
    assert verdict(gateways.second, f"{marker} {VARIANT}").startswith("semantic;")
    # From then on it learns of additions through the cache's log, not by reading the scope.
    miss_and_store(gateways.first, f"{marker} {LATER}")
    time.sleep(0.3)
    assert verdict(gateways.second, f"{marker} {LATER_VARIANT}").startswith("semantic;")
    assert len(received(sim)) == 2


def test_a_clear_on_one_replica_empties_the_cache_for_all(gateways: Gateways, marker: str) -> None:
    miss_and_store(gateways.first, f"{marker} {PROMPT}")
    assert verdict(gateways.second, f"{marker} {VARIANT}").startswith("semantic;")
    with gateways.first.client() as http:
        cleared = http.request("DELETE", "/v1/cache", json={"scope": "all"})
    assert cleared.json()["entries_deleted"] >= 1
    time.sleep(0.3)
    assert verdict(gateways.second, f"{marker} {PROMPT}") == "miss"
