"""Kong's side of a pre-function, for running kong.yaml's Lua under LuaJIT (lupa):
the few PDK calls the edge's code makes, acting on one request's headers.

OpenResty semantics kept: `kong.service.request.set_header` changes the request's headers,
so a later `kong.request.get_header` (key-auth's lookup) reads the new value. `require` is
limited to the modules Kong's sandbox is told to allow, as with
`untrusted_lua_sandbox_requires`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from lupa.luajit21 import LuaRuntime

# What kong/README.md tells operators to put in KONG_UNTRUSTED_LUA_SANDBOX_REQUIRES.
SANDBOX_REQUIRES = ("resty.sha256", "resty.string")

_PRELUDE = """
local allowed, sha256_hex_bytes = ...
local modules = {
  ["resty.sha256"] = {
    new = function(self)
      local parts = {}
      return {
        update = function(me, s) parts[#parts + 1] = s; return true end,
        final = function(me) return sha256_hex_bytes(table.concat(parts)) end,
      }
    end,
  },
  ["resty.string"] = {
    to_hex = function(s)
      return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
    end,
  },
}
return function(name)
  if not allowed[name] then
    error("require '" .. name .. "' not allowed within sandbox")
  end
  return modules[name]
end
"""


@dataclass
class EdgeRequest:
    """One request through the pre-function: its headers as they go on, and how it ended."""

    headers: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    exit_status: int | None = None
    exit_message: str | None = None
    logged: list[str] = field(default_factory=list)


class PreFunction:
    def __init__(self, snippets: list[str]) -> None:
        # latin-1: every Lua byte string round-trips through Python unchanged.
        self.lua = LuaRuntime(encoding="latin-1", unpack_returned_tuples=True)
        allowed = self.lua.table_from({name: True for name in SANDBOX_REQUIRES})
        require = self.lua.execute(_PRELUDE, allowed, _sha256_bytes)
        self.request: EdgeRequest | None = None
        environment = self.lua.table_from({"kong": self._kong(), "require": require})
        for name in ("string", "table", "tostring", "type", "error", "pairs", "ipairs"):
            environment[name] = self.lua.globals()[name]
        loader = self.lua.eval("function(code, env) return assert(load(code, 'pre', 't', env)) end")
        # Like Kong's validator: each snippet is a chunk that returns the phase function.
        self.phases = [loader(code, environment)() for code in snippets]

    def run(self, request: EdgeRequest) -> EdgeRequest:
        self.request = request
        for phase in self.phases:
            phase()
            if request.exit_status is not None:
                break
        return request

    def _kong(self) -> Any:
        def current() -> EdgeRequest:
            assert self.request is not None
            return self.request

        def get_header(name: str) -> str | None:
            return current().headers.get(name.lower())

        def set_header(name: str, value: str) -> None:
            current().headers[name.lower()] = value

        def clear_header(name: str) -> None:
            current().headers.pop(name.lower(), None)

        def vault_get(reference: str) -> tuple[str | None, str | None]:
            # {vault://env/gateway-edge-secret} -> GATEWAY_EDGE_SECRET, as Kong's env vault.
            name = reference.strip("{}").removeprefix("vault://env/").upper().replace("-", "_")
            value = current().env.get(name)
            return (value, None) if value is not None else (None, f"{name} is not set")

        def error(status: int, message: str) -> None:
            current().exit_status, current().exit_message = status, message

        def log_err(*parts: Any) -> None:
            current().logged.append("".join(str(p) for p in parts))

        table = self.lua.table_from
        return table(
            {
                "request": table({"get_header": get_header}),
                "service": table(
                    {"request": table({"set_header": set_header, "clear_header": clear_header})}
                ),
                "vault": table({"get": vault_get}),
                "response": table({"error": error}),
                "log": table({"err": log_err}),
            }
        )


def _sha256_bytes(data: str) -> str:
    return hashlib.sha256(data.encode("latin-1")).digest().decode("latin-1")
