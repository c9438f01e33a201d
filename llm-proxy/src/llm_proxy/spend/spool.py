"""A local append-only file of spend records the database could not take yet.

One file per process (`<database tag>-<pid>.jsonl`), held under an exclusive lock while
the process lives. Files whose owner is gone — a crash, or a stop with the database
down — are adopted by the next process of the same database and replayed with its own.
Lines are JSON; a line cut short by a crash is skipped when read back. The write-ahead
files of dead processes (`spend.wal`, `<tag>-<pid>-a.wal.jsonl` and `-b`) are adopted the same way.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

import orjson

from llm_proxy.store.request_log import RequestRecord

log = logging.getLogger("llm_proxy.spend")

_TIMES = ("started_at", "finished_at")


class Spool:
    def __init__(self, directory: Path, database_url: str) -> None:
        self._directory = directory
        # Records go back to the database they were meant for, never another one.
        self.tag = hashlib.sha256(database_url.encode()).hexdigest()[:12]
        self._path = directory / f"{self.tag}-{os.getpid()}.jsonl"
        self._own: IO[bytes] | None = None
        self._adopted: list[tuple[Path, IO[bytes]]] = []
        self.pending = 0

    def open(self) -> None:
        """Lock our own file and adopt the orphans of earlier processes."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self._own = self._path.open("ab+")
        fcntl.flock(self._own, fcntl.LOCK_EX)
        self.pending = _count_lines(self._path)
        for path in sorted(self._directory.glob(f"{self.tag}-*.jsonl")):
            if path != self._path:
                self._adopt(path)

    def append(self, rows: Sequence[RequestRecord]) -> None:
        assert self._own is not None, "open() the spool first"
        self._own.write(b"".join(orjson.dumps(row) + b"\n" for row in rows))
        self._own.flush()
        os.fsync(self._own.fileno())
        self.pending += len(rows)

    def read(self) -> list[RequestRecord]:
        rows: list[RequestRecord] = []
        for path in [self._path, *(path for path, _ in self._adopted)]:
            rows += _parse(path)
        return rows

    def adopted(self) -> list[RequestRecord]:
        """The records of dead processes taken over by `open()`."""
        return [row for path, _ in self._adopted for row in _parse(path)]

    def clear(self) -> None:
        """Everything read was written to the database: forget it."""
        assert self._own is not None
        self._own.truncate(0)
        for path, handle in self._adopted:
            path.unlink(missing_ok=True)
            handle.close()
        self._adopted.clear()
        self.pending = 0

    def close(self) -> None:
        for _, handle in self._adopted:
            handle.close()
        self._adopted.clear()
        if self._own is not None:
            empty = self.pending == 0
            self._own.close()
            self._own = None
            if empty:
                self._path.unlink(missing_ok=True)

    def _adopt(self, path: Path) -> None:
        handle = path.open("ab+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its process is alive and owns it
            handle.close()
            return
        count = _count_lines(path)
        if count == 0:
            path.unlink(missing_ok=True)
            handle.close()
            return
        log.info("adopting %d spooled spend records from %s", count, path.name)
        self._adopted.append((path, handle))
        self.pending += count


def _count_lines(path: Path) -> int:
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def _parse(path: Path) -> list[RequestRecord]:
    rows = []
    with path.open("rb") as handle:
        for line in handle:
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                log.warning("skipping a damaged line in %s", path.name)
                continue
            try:
                for name in _TIMES:
                    row[name] = _aware(datetime.fromisoformat(row[name]))
            except (KeyError, TypeError, ValueError):
                log.warning("skipping a record without its times in %s", path.name)
                continue
            rows.append(row)
    return rows


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a record's times are UTC-aware")
    return moment
