"""The dashboard's static build (`dashboard/out`, a Next.js export) served at `/ui/`.

Same origin as the admin API, so the session cookie needs no CORS and no third party
sees it. Pages are HTML files (`/ui/logs/` → `logs/index.html`); every answer forbids
framing, so another site cannot overlay the console's buttons.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

PREFIX = "/ui"


class _Framing:
    """Adds the headers that keep the console out of other sites' frames."""

    def __init__(self, app: StaticFiles) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-frame-options", b"DENY"))
                headers.append((b"x-content-type-options", b"nosniff"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount_dashboard(app: FastAPI, directory: Path) -> None:
    """Serve the build at /ui/ (and redirect /ui there); a missing build is an error."""
    if not (directory / "index.html").is_file():
        raise FileNotFoundError(f"gateway.ui_dir: no dashboard build (index.html) in {directory}")

    @app.get(PREFIX, include_in_schema=False)
    async def _to_dashboard() -> Response:
        return RedirectResponse(f"{PREFIX}/")

    app.mount(PREFIX, _Framing(StaticFiles(directory=directory, html=True)), name="dashboard")
