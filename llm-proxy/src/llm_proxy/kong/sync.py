"""One push of the key table to Kong, the same for `llm-proxy kong sync` and the gateway.

DB-less Kong gets the whole rendered config (`POST /config`, unchanged configs skipped
by hash); a Kong with a database gets its managed consumers and credentials upserted
and pruned, leaving the services, routes and plugins managed elsewhere alone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx

from llm_proxy.kong.admin import KongAdmin, SyncReport
from llm_proxy.kong.declarative import load_base, render
from llm_proxy.kong.key_table import usable_consumers
from llm_proxy.store.database import Database

Mode = Literal["auto", "dbless", "db"]


async def sync_keys(
    database: Database, admin_url: str, base: Path, mode: Mode, timeout_s: float
) -> SyncReport:
    consumers = await usable_consumers(database, datetime.now(UTC))
    async with httpx.AsyncClient(base_url=admin_url, timeout=timeout_s) as client:
        kong = KongAdmin(client)
        dbless = mode == "dbless" or (mode == "auto" and not await kong.uses_database())
        if not dbless:
            return await kong.sync_consumers(consumers, datetime.now(UTC))
        outcome = await kong.load_config(render(load_base(base), consumers))
        return SyncReport("dbless", outcome, len(consumers))
