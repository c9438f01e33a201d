"""A webhook receiver: a real HTTP server on loopback, in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from aiohttp import web


class Webhook:
    """A real HTTP receiver on loopback, recording what the gateway posts to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/alerts", self._receive)
        runner = web.AppRunner(app)
        self._loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/alerts"
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(runner.cleanup())

    async def _receive(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        return web.Response(status=204)

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Posts arrive in the background: wait (bounded) until `count` have arrived."""
        deadline = threading.Event()
        for _ in range(int(timeout_s / 0.02)):
            if len(self.received) >= count:
                break
            deadline.wait(0.02)
        return list(self.received)
