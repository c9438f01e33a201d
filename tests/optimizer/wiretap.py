"""A TCP relay that keeps what the client sent: the tests read the gateway's requests to the
optimizer off the wire (the delegated credential in them) without touching either side.
It can also hold back what the optimizer answers: the run's request is then still going on
(its credential alive) for exactly as long as a test needs, however busy the machine."""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future

_CREDENTIAL = re.compile(rb"authorization: Bearer (sk-gwdel-[A-Za-z0-9_-]+)", re.IGNORECASE)
_PARENT = re.compile(rb"x-gateway-parent-request-id: ([A-Za-z0-9_-]+)", re.IGNORECASE)


class Wiretap:
    def __init__(self, target_port: int) -> None:
        self._target = ("127.0.0.1", target_port)
        self._sent = bytearray()
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._answers = asyncio.Event()
        self._answers.set()
        future: Future[asyncio.Server] = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(timeout=10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    def credentials(self) -> list[str]:
        with self._lock:
            return [m.decode() for m in _CREDENTIAL.findall(bytes(self._sent))]

    def parents(self) -> list[str]:
        """The parent request ids the gateway sent runs for, in order."""
        with self._lock:
            return [m.decode() for m in _PARENT.findall(bytes(self._sent))]

    @contextlib.contextmanager
    def holding_answers(self) -> Iterator[None]:
        """Inside, the optimizer's answers are kept back (passed on when it ends)."""
        self._switch(self._answers.clear)
        try:
            yield
        finally:
            self._switch(self._answers.set)

    def _switch(self, change: Callable[[], None]) -> None:
        async def switch() -> None:
            change()

        asyncio.run_coroutine_threadsafe(switch(), self._loop).result(timeout=10)

    def sent(self) -> bytes:
        """Everything the gateway has sent the optimizer so far."""
        with self._lock:
            return bytes(self._sent)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        await asyncio.gather(
            self._pipe(reader, upstream_writer, keep=True),
            self._pipe(upstream_reader, writer, keep=False),
            return_exceptions=True,
        )

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, keep: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if keep:
                    with self._lock:
                        self._sent += data
                else:
                    await self._answers.wait()
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
