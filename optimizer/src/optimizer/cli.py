"""`optimizer serve` (also `python -m optimizer serve`): the HTTP service on one port."""

from __future__ import annotations

import argparse
import os

from optimizer.service import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="optimizer", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8082)
    serve.add_argument(
        "--gateway-url",
        default=os.environ.get("OPTIMIZER_GATEWAY_URL"),
        help="the gateway's OpenAI base URL sub-calls go to (env OPTIMIZER_GATEWAY_URL)",
    )
    serve.add_argument("--workers", type=int, default=16, help="threads running approaches")
    serve.add_argument("--keepalive-s", type=float, default=5.0)
    serve.add_argument("--deadline-ms", type=int, default=60_000, help="the longest deadline")
    serve.add_argument("--max-calls", type=int, default=32, help="the most sub-calls per request")
    serve.add_argument("--log-level", default="info")
    arguments = parser.parse_args(argv)
    if not arguments.gateway_url:
        parser.error("--gateway-url (or OPTIMIZER_GATEWAY_URL) is required")
    import uvicorn

    from optimizer.app import build_app

    settings = Settings(
        gateway_url=arguments.gateway_url,
        workers=arguments.workers,
        keepalive_s=arguments.keepalive_s,
        deadline_ms=arguments.deadline_ms,
        max_calls=arguments.max_calls,
    )
    uvicorn.run(
        build_app(settings),
        host=arguments.host,
        port=arguments.port,
        log_level=arguments.log_level,
        # Only the gateway calls it, directly: no proxy headers to read, and no Date and
        # Server headers to format on every answer (CPU per request is its budget).
        proxy_headers=False,
        server_header=False,
        date_header=False,
    )
