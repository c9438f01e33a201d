"""What the simulator received: the last N requests in full, and counts of all of them."""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Received:
    time: float
    method: str
    path: str
    model: str | None
    headers: dict[str, str]
    body: Any  # parsed JSON, or the raw text when it was not JSON

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "model": self.model,
            "headers": self.headers,
            "body": self.body,
        }


class Recorder:
    """A bounded record (a test inspects recent traffic; a benchmark must not grow memory)."""

    def __init__(self, limit: int) -> None:
        self._recent: deque[Received] = deque(maxlen=limit)
        self._counts: Counter[tuple[str, str, int]] = Counter()

    def received(
        self, method: str, path: str, model: str | None, headers: dict[str, str], body: Any
    ) -> None:
        self._recent.append(Received(time.time(), method, path, model, headers, body))

    def answered(self, path: str, model: str | None, status: int) -> None:
        self._counts[(path, model or "", status)] += 1

    def recent(self, limit: int) -> list[dict[str, Any]]:
        """The last `limit` requests, oldest first."""
        items = list(self._recent)[-limit:] if limit > 0 else []
        return [item.as_json() for item in items]

    def stats(self) -> dict[str, Any]:
        by_path: Counter[str] = Counter()
        by_model: Counter[str] = Counter()
        by_status: Counter[str] = Counter()
        for (path, model, status), count in self._counts.items():
            by_path[path] += count
            by_model[model] += count
            by_status[str(status)] += count
        rows = [
            {"path": path, "model": model or None, "status": status, "count": count}
            for (path, model, status), count in sorted(self._counts.items())
        ]
        return {
            "total": sum(self._counts.values()),
            "by_path": dict(by_path),
            "by_model": dict(by_model),
            "by_status": dict(by_status),
            "rows": rows,
        }

    def clear(self) -> None:
        self._recent.clear()
        self._counts.clear()
