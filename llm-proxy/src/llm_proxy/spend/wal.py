"""The write-ahead files: every spend record on local disk before its answer completes.

The writer batches records in memory for ~100 ms; a process killed (SIGKILL, OOM) in
that window would lose them. So `append` writes each record's line to a file first,
with one `write(2)` on an O_APPEND descriptor and no fsync: the page cache outlives the
process, so a crash of the process (not of the machine) loses nothing.

There are two files, taken in turn. A flush `seal`s the one in use (it holds the records
the flush is about to write) and appends go to the other; once those records have reached
the database or the fsynced spool, the sealed file is truncated (`written`). So a file is
emptied while records keep coming, without the writer having to catch up with the queue
first (which, under steady traffic, made it insert one small batch after another).

The files are named like spool files (`<database tag>-<pid>-a.wal.jsonl`, `-b`) and held
under the same exclusive lock, so when their process dies the next process's spool adopts
them and replays them with the spool; the insert skips request ids already logged, so a
record both in the database and in a file is written once.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import orjson

from llm_proxy.store.request_log import RequestRecord


class WriteAhead:
    def __init__(self, directory: Path, tag: str) -> None:
        self._paths = [directory / f"{tag}-{os.getpid()}-{side}.wal.jsonl" for side in "ab"]
        self._fds: list[int] = []
        self._current = 0
        self._sealed = False  # the other file holds records not yet written

    def open(self) -> None:
        self._paths[0].parent.mkdir(parents=True, exist_ok=True)
        for path in self._paths:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._fds.append(fd)

    def append(self, row: RequestRecord) -> bytes:
        """Write the record's line (the record as JSON, and a newline); returns the line."""
        line = orjson.dumps(row, option=orjson.OPT_APPEND_NEWLINE)
        if self._fds:
            os.write(self._fds[self._current], line)
        return line

    def seal(self) -> None:
        """A flush takes every record queued so far: later ones go to the other file. While
        a sealed file is not `written` (its flush failed), appends stay where they are."""
        if self._fds and not self._sealed:
            self._current ^= 1
            self._sealed = True

    def written(self, everything: bool) -> None:
        """The records of the sealed file (`everything`: of both) are in the database or the
        spool."""
        if not self._fds:
            return
        if self._sealed:
            os.ftruncate(self._fds[self._current ^ 1], 0)
            self._sealed = False
        if everything:
            os.ftruncate(self._fds[self._current], 0)

    def close(self) -> None:
        """A clean stop: nothing is left behind that the spool does not hold."""
        for path, fd in zip(self._paths, self._fds, strict=True):
            os.ftruncate(fd, 0)
            path.unlink(missing_ok=True)
            os.close(fd)
        self._fds = []
