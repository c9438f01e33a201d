"""The write-ahead file: every spend record on local disk before its answer completes.

The writer batches records in memory for ~100 ms; a process killed (SIGKILL, OOM) in
that window would lose them. So `append` writes each record's line to this file first,
with one `write(2)` on an O_APPEND descriptor and no fsync: the page cache outlives the
process, so a crash of the process (not of the machine) loses nothing. Once everything
appended has reached the database or the fsynced spool, the file is truncated.

The file is named like a spool file (`<database tag>-<pid>.wal.jsonl`) and held under
the same exclusive lock, so when its process dies the next process's spool adopts it
and replays it with the spool; the insert skips request ids already logged, so a record
both in the database and in the file is written once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Any

import orjson


class WriteAhead:
    def __init__(self, directory: Path, tag: str) -> None:
        self._path = directory / f"{tag}-{os.getpid()}.wal.jsonl"
        self._fd: int | None = None

    def open(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._fd = fd

    def append(self, row: dict[str, Any]) -> None:
        if self._fd is not None:
            os.write(self._fd, orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE))

    def truncate(self) -> None:
        """Everything appended so far is in the database or the spool."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)

    def close(self) -> None:
        """A clean stop: nothing is left behind that the spool does not hold."""
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None
