"""The cache's counters count every event once, even while a batch is on its way to Redis.

A gateway adds its counts to Redis in batches; /admin/cache/stats shows Redis's counts and
the ones not yet there. A stats read that met a batch Redis had applied but whose reply the
gateway had not yet read counted that batch twice: a client waiting for `stored` to pass a
value read then saw its own write as no write at all (the CI flake of
test_a_reworded_prompt_gets_the_stored_answer[filler], "the cache write did not land").
"""

from __future__ import annotations

import time
from pathlib import Path

from tests.cache.conftest import ask, gateway_config, stats
from tests.cache.held_redis import HeldReplies
from tests.support.processes import Simulator, start_gateway

# Longer than a stats read takes on a loaded machine, so reads fall inside the held reply.
_HELD_S = 0.5


def test_a_write_is_counted_once_while_its_count_is_on_its_way(
    simulator: Simulator, redis_prefix: str, tmp_path: Path, marker: str
) -> None:
    with HeldReplies(b"HINCRBYFLOAT", _HELD_S, ("127.0.0.1", 6379)) as relay:
        config = gateway_config(
            simulator,
            tmp_path,
            f"{redis_prefix}held:",
            {"enabled": True, "semantic": {"enabled": False}},
        )
        config["redis"]["url"] = f"redis://127.0.0.1:{relay.port}/0"
        gw = start_gateway(config, tmp_path)
        try:
            ask(gw, f"{marker} Name three prime numbers.")
            # Through the next flushes (one a second), each held: every read says one write.
            seen, deadline = [], time.monotonic() + 3.0
            while time.monotonic() < deadline:
                seen.append(stats(gw)["stored"])
                time.sleep(0.02)
        finally:
            gw.stop()
    assert seen[-1] == 1
    assert set(seen[seen.index(1) :]) == {1}, seen
