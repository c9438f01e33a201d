"""The windows limits are counted over: sliding minutes and days, calendar days and months (UTC)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

MINUTE_MS = 60_000
DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Period:
    name: str  # part of the counter's key: "d2025-01-31", "m2025-01"
    end_ms: int
    start: datetime


def today(now: datetime | None = None) -> Period:
    now = now or datetime.now(UTC)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return Period(f"d{start:%Y-%m-%d}", _ms(start + timedelta(days=1)), start)


def this_month(now: datetime | None = None) -> Period:
    now = now or datetime.now(UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return Period(f"m{start:%Y-%m}", _ms(following), start)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)
