"""Leases: a reservation held on shared counters ends with its holder, never outlives it.

A request's reservation is leased in the counter store for `limits.lease_s`, renewed
while the request is in flight. A replica killed mid-request (kill -9, OOM) settles
nothing; when its leases end, any live replica's sweep gives their reservations back, and
a replica that adopts the dead one's spend write-ahead file settles the answers it had
delivered with their real usage instead. In process (no Redis) a reservation cannot
outlive its process, so the memory store needs none of this.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llm_proxy.cost import nano_usd


@dataclass(frozen=True, slots=True)
class Lease:
    """One reserve call of one request: its holder (the request id) and which call."""

    holder: str
    part: int


@dataclass(frozen=True, slots=True)
class Delivered:
    """What a request really used, read back from its spend record."""

    holder: str
    served: bool
    input_tokens: int
    output_tokens: int
    nano_usd: int


def delivered(row: Mapping[str, Any]) -> Delivered:
    """A spend record as its settle would have charged it: a request that failed counts
    nothing, one cut short (client gone mid-stream) what it streamed."""
    prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
    served = int(row["status"]) < 400 or prompt + completion > 0
    return Delivered(
        str(row["request_id"]), served, prompt, completion, nano_usd(float(row["cost_usd"]))
    )
