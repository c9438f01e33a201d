"""A relay to the shared Redis that holds back the replies to the requests a test names.

A slow reply is a condition a loaded machine makes now and then and a test cannot wait for;
the relay makes it every time, for exactly the requests it is told: Redis still runs the
command at once (the request passes straight through), only its reply reaches the gateway
`delay_s` late, as it would from a server or link that stalls.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from concurrent.futures import Future
from types import TracebackType


class HeldReplies:
    def __init__(self, marker: bytes, delay_s: float, target: tuple[str, int]) -> None:
        self._marker, self._delay_s, self._target = marker, delay_s, target
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        future: Future[asyncio.Server] = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, "127.0.0.1", 0), self._loop
        )
        self._server = future.result(timeout=10)
        self.port: int = self._server.sockets[0].getsockname()[1]

    def __enter__(self) -> HeldReplies:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        # When the replies of this connection may go on: after the last marked request's.
        held_until = [0.0]
        await asyncio.gather(
            self._requests(reader, upstream_writer, held_until),
            self._replies(upstream_reader, writer, held_until),
            return_exceptions=True,
        )

    async def _requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, held_until: list[float]
    ) -> None:
        try:
            while data := await reader.read(65536):
                if self._marker in data:
                    held_until[0] = self._loop.time() + self._delay_s
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _replies(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, held_until: list[float]
    ) -> None:
        try:
            while data := await reader.read(65536):
                await asyncio.sleep(max(0.0, held_until[0] - self._loop.time()))
                writer.write(data)
                await writer.drain()
        finally:
            with contextlib.suppress(Exception):
                writer.close()
