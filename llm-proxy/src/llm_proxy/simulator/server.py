"""Serving the simulator with uvicorn (uvloop + httptools), announcing when it is ready."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn

from llm_proxy.simulator.app import build_app
from llm_proxy.simulator.config import SimulatorConfig
from llm_proxy.simulator.tokens import warm_up


class _IntendedCutFilter(logging.Filter):
    """A cut-stream fault ends a response early on purpose; that is not an error worth a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free one (read it back with getsockname)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class _AnnouncingServer(uvicorn.Server):
    """uvicorn's server, telling its caller once the socket accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and sockets:
            host, port = sockets[0].getsockname()[:2]
            self._on_ready(f"http://{host}:{port}")


async def serve(
    config: SimulatorConfig,
    sock: socket.socket,
    on_ready: Callable[[str], None] = print,
    log_level: str = "warning",
) -> None:
    """Serve until cancelled or signalled; call `on_ready` with the base URL once listening."""
    settings = uvicorn.Config(
        build_app(config),
        loop="none",  # the caller's loop: uvloop when started from the CLI
        http="httptools",
        lifespan="off",
        access_log=False,
        log_level=log_level,
    )
    logging.getLogger("uvicorn.error").addFilter(_IntendedCutFilter())
    warm_up()
    await _AnnouncingServer(settings, on_ready).serve(sockets=[sock])
