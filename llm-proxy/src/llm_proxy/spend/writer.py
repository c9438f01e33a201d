"""Writing spend records: enqueue on the request path, insert in batches in the background.

`record()` only appends to a list. One background task takes up to `batch_size` rows every
`flush_interval_ms` (sooner when a batch fills) and inserts them, ignoring request ids
already logged. When the database cannot be reached the batch goes to the spool, and so
does every batch after it until a replay of the spool succeeds (tried every
`retry_interval_s`), so records reach the database in order and none twice. `close()`
drains: what is queued is written, or spooled if the database is down or time runs out.
Each record is also appended to a write-ahead file (`spend.wal`) as it is handed over,
so a process killed with records still in memory loses none of them: the next start
replays the files (see `spend.wal`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from llm_proxy.config.models import Spend
from llm_proxy.spend.spool import Spool
from llm_proxy.spend.wal import WriteAhead
from llm_proxy.store.database import Database
from llm_proxy.store.request_log import RequestRecord, insert_records

log = logging.getLogger("llm_proxy.spend")

# The database is out of reach (not: it refused these rows).
_UNREACHABLE = (OperationalError, InterfaceError, PoolTimeout, OSError, TimeoutError)
# Rows that cannot be written: the database refused them, or a value could not be made
# into a parameter (a damaged record adopted from a spool file). Tried alone, dropped.
_REFUSED = (DBAPIError, ValueError, TypeError, KeyError)


class SpendLog:
    def __init__(self, database: Database, config: Spend) -> None:
        self._database = database
        self._config = config
        self._spool = Spool(Path(config.spool_dir), database.url)
        self._wal = WriteAhead(Path(config.spool_dir), self._spool.tag)
        self._queue: list[RequestRecord] = []
        # Each queued record's write-ahead line, in step with the queue: Postgres's insert
        # takes the rows as these lines (store.request_log), not made again.
        self._lines: list[bytes] = []
        self._in_flight: list[RequestRecord] = []
        self._in_flight_lines: list[bytes] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._retry_at = 0.0
        self.written = 0

    @property
    def spooled(self) -> int:
        return self._spool.pending

    def record(self, record: RequestRecord) -> None:
        """Hand over a finished request's record: on local disk when this returns."""
        self._lines.append(self._wal.append(record))
        self._queue.append(record)
        if len(self._queue) >= self._config.batch_size:
            self._wake.set()

    def adopted(self) -> list[RequestRecord]:
        """After `start()`: the records of dead processes it took over (their write-ahead
        files and spools), for their reservations to be settled."""
        return self._spool.adopted()

    def start(self) -> None:
        # The file locked first, so the spool does not take our own for an orphan.
        self._wal.open()
        self._spool.open()
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        if self._task is None:
            return
        self._closing = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), self._config.drain_timeout_s)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._spool_leftovers()
        self._spool.close()
        self._wal.close()
        if self._spool.pending:
            log.warning("%d spend records stay spooled for the next start", self._spool.pending)

    async def _run(self) -> None:
        interval = self._config.flush_interval_ms / 1000
        await self._replay()
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            await self._flush_guarded()
        while self._queue:
            await self._flush_guarded()
        if self._spool.pending:
            await self._replay()

    async def _flush_guarded(self) -> None:
        try:
            await self._flush()
        except Exception:
            # The writer must outlive any one failure (a full disk, a bug); the rows of
            # the batch at hand are put back in front to be tried again.
            log.exception("spend log: flush failed; retrying")
            self._queue[:0] = self._in_flight
            self._lines[:0] = self._in_flight_lines
            self._in_flight = []
            self._in_flight_lines = []
            await asyncio.sleep(self._config.retry_interval_s)

    async def _flush(self) -> None:
        """Write what is queued now. Records handed over meanwhile wait for the next flush
        (sooner if they fill a batch): taking them at once made a writer that had just
        finished a batch start another of the few that came during it, a transaction (and
        its rollup upserts) per request or two at low rates."""
        if not self._queue:
            return
        size = self._config.batch_size
        left = len(self._queue)
        self._wal.seal()
        while left > 0:
            batch, self._queue = self._queue[:size], self._queue[size:]
            lines, self._lines = self._lines[:size], self._lines[size:]
            left -= len(batch)
            self._in_flight, self._in_flight_lines = batch, lines
            await self._write(batch, lines)
            self._in_flight, self._in_flight_lines = [], []
        self._wal.written(everything=not self._queue)

    async def _write(self, rows: list[RequestRecord], lines: list[bytes]) -> None:
        if self._spool.pending and not await self._replay():
            self._spool.append(rows)
            return
        try:
            await self._insert(rows, lines)
        except _UNREACHABLE as exc:
            log.warning("spend log: database unreachable, spooling %d records: %s", len(rows), exc)
            self._spool.append(rows)
            self._retry_at = time.monotonic() + self._config.retry_interval_s

    async def _replay(self) -> bool:
        """Write the spool to the database; False if it is still unreachable."""
        if not self._spool.pending:
            return True
        if time.monotonic() < self._retry_at and not self._closing:
            return False
        rows = self._spool.read()
        try:
            for start in range(0, len(rows), self._config.batch_size):
                await self._insert(rows[start : start + self._config.batch_size])
        except _UNREACHABLE:
            self._retry_at = time.monotonic() + self._config.retry_interval_s
            return False
        log.info("spend log: replayed %d spooled records", len(rows))
        self._spool.clear()
        return True

    async def _insert(self, rows: list[RequestRecord], lines: list[bytes] | None = None) -> None:
        try:
            async with self._database.engine.begin() as connection:
                await insert_records(connection, rows, lines)
        except _UNREACHABLE:
            raise
        except _REFUSED as exc:
            # The batch itself was refused: write row by row, drop only the bad ones (kept,
            # one bad row would hold up every record behind it for good).
            log.error("spend log: batch refused (%s); inserting rows one by one", _why(exc))
            await self._insert_each(rows)
        self.written += len(rows)

    async def _insert_each(self, rows: list[RequestRecord]) -> None:
        for row in rows:
            try:
                async with self._database.engine.begin() as connection:
                    await insert_records(connection, [row])
            except _UNREACHABLE:
                raise
            except _REFUSED as exc:
                log.error("spend log: dropping record %s: %s", row.get("request_id"), _why(exc))

    def _spool_leftovers(self) -> None:
        rows = self._in_flight + self._queue
        self._queue, self._lines = [], []
        if rows:
            self._spool.append(rows)


def _why(error: Exception) -> object:
    return error.orig if isinstance(error, DBAPIError) else error
