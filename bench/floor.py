"""The floor: the least a Python proxy on this stack can do per request, for comparison.

A raw ASGI app on uvicorn (uvloop, httptools, one worker) that forwards each request's
body to the upstream with aiohttp and relays the answer, streamed or not: no auth, no
parsing, no limits, no logs. `bench.run` measures it as the `floor` target beside ours;
the ratio ours/floor says how much the gateway's own work costs on top of the transport.

`python -m bench.floor --port 4999 --upstream http://127.0.0.1:9000`
"""

from __future__ import annotations

import argparse
from typing import Any

import aiohttp
import uvicorn


class Floor:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.session: aiohttp.ClientSession | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.session is None:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        url = self.upstream + scope["path"]
        headers = {"content-type": "application/json", "authorization": "Bearer x"}
        async with self.session.request(scope["method"], url, data=body, headers=headers) as answer:
            kind = answer.headers.get("content-type", "application/json").encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": answer.status,
                    "headers": [(b"content-type", kind)],
                }
            )
            async for chunk in answer.content.iter_any():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True)
    args = parser.parse_args()
    uvicorn.run(
        Floor(args.upstream),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
