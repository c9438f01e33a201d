"""A Kong Admin API peer on loopback for the sync tests: the parts of Kong's contract that
`llm-proxy kong sync` relies on (KONG_NOTES.md), with every request it receives recorded.

DB-less: `POST /config` validates the document against Kong's schemas (as Kong does),
answers 201 and keeps it, 304 under `?check_hash=1` when it is what runs already, 400 with
`flattened_errors` when it is invalid, 429 while "busy"; entity writes answer 405.
DB mode: consumers and key-auth credentials, with tags, pagination, PUT upserts, cascades.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.kong.kong_schema import field_problems, structure_problems

Reply = tuple[int, Any, dict[str, str]]


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    body: Any


@dataclass
class KongState:
    database: str = "off"
    page_size: int = 1000
    busy: int = 0  # answer this many config loads with 429 first
    config: dict[str, Any] | None = None
    config_hash: str | None = None
    consumers: dict[str, dict[str, Any]] = field(default_factory=dict)
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def writes(self) -> list[Received]:
        return [r for r in self.received if r.method != "GET"]


class AdminPeer:
    def __init__(self, database: str = "off") -> None:
        self.state = KongState(database=database)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    state: KongState

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        self.state.received.append(Received(method, url.path, query, body))
        parts = [p for p in url.path.split("/") if p]
        status, payload, headers = self._route(method, parts, query, body)
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"content-type": "application/json", **headers}.items():
            self.send_header(name, value)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _route(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> Reply:
        state = self.state
        if method == "GET" and not parts:
            return 200, {"version": "3.10.0", "configuration": {"database": state.database}}, {}
        if parts == ["config"] and method == "POST":
            return self._load_config(query, body)
        if method in ("PUT", "POST", "DELETE") and state.database == "off":
            nested = parts[0] == "consumers" and len(parts) > 2
            entity = "keyauth_credentials" if nested or parts[0] == "key-auths" else "consumers"
            verb = {"PUT": "update", "POST": "create", "DELETE": "remove"}[method]
            return _error(405, f"cannot {verb} '{entity}' entities when not using a database")
        return self._entities(method, parts, query, body)

    def _load_config(self, query: dict[str, str], body: Any) -> Reply:
        state = self.state
        if state.database != "off":
            return _error(400, "this endpoint is only available when Kong is not using a database")
        if state.busy > 0:
            state.busy -= 1
            status, payload, _ = _error(429, "Currently loading previous configuration")
            return status, payload, {"retry-after": "0"}
        problems = structure_problems(body) + field_problems(body)
        if problems:
            errors = [{"field": p.split(":")[0], "message": p.split(": ", 1)[-1]} for p in problems]
            flattened = [{"entity_type": "document", "entity_name": "kong.yaml", "errors": errors}]
            payload = {
                "name": "invalid declarative configuration",
                "message": "declarative config is invalid",
                "flattened_errors": flattened,
            }
            return 400, payload, {}
        digest = hashlib.md5(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if query.get("check_hash") == "1" and digest == state.config_hash:
            return 304, None, {}
        state.config, state.config_hash = body, digest
        return 201, body, {}

    def _entities(self, method: str, parts: list[str], query: dict[str, str], body: Any) -> Reply:
        state = self.state
        if method == "GET" and parts in (["consumers"], ["key-auths"]):
            table = state.consumers if parts[0] == "consumers" else state.credentials
            return 200, self._page(list(table.values()), query), {}
        if parts[0] == "consumers" and len(parts) == 2:
            return self._consumer(method, parts[1], body)
        if parts[0] == "consumers" and len(parts) == 4 and parts[2] == "key-auth":
            return self._credential(method, parts[1], parts[3], body)
        if parts[0] == "key-auths" and len(parts) == 2 and method == "DELETE":
            found = state.credentials.pop(parts[1], None) is not None
            return (204, None, {}) if found else _error(404, "Not found")
        return _error(404, "Not found")

    def _page(self, rows: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
        tag = query.get("tags")
        rows = [r for r in rows if tag is None or tag in (r.get("tags") or [])]
        rows.sort(key=lambda r: r["id"])
        size = min(int(query.get("size", 100)), self.state.page_size)
        start = int(query.get("offset", 0))
        page: dict[str, Any] = {"data": rows[start : start + size], "next": None}
        if start + size < len(rows):
            page["offset"] = str(start + size)
            page["next"] = f"?offset={start + size}"
        return page

    def _consumer(self, method: str, key: str, body: Any) -> Reply:
        state = self.state
        if method == "PUT":
            for other in state.consumers.values():
                if other["username"] == body.get("username") and other["id"] != key:
                    return _error(409, f"UNIQUE violation on username {other['username']!r}")
            state.consumers[key] = {"id": key, "custom_id": None, **body}
            return 200, state.consumers[key], {}
        if method == "DELETE":
            if state.consumers.pop(key, None) is None:
                return _error(404, "Not found")
            # Kong cascades a consumer's deletion to its credentials.
            owned = [c for c, v in state.credentials.items() if v["consumer"]["id"] == key]
            for credential_id in owned:
                del state.credentials[credential_id]
            return 204, None, {}
        return _error(405, "Method not allowed")

    def _credential(self, method: str, consumer: str, key: str, body: Any) -> Reply:
        state = self.state
        if consumer not in state.consumers:
            return _error(404, "Not found")
        if method != "PUT":
            return _error(405, "Method not allowed")
        # Like Kong: a credential written without a key gets a random one.
        body = {"key": secrets.token_hex(16), **body}
        state.credentials[key] = {"id": key, "consumer": {"id": consumer}, **body}
        return 200, state.credentials[key], {}


def _error(status: int, message: str) -> Reply:
    return status, {"message": message}, {}
