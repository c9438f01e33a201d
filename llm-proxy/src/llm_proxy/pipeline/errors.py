"""Errors the gateway answers with, rendered in OpenAI's or Anthropic's shape."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

_OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    429: "rate_limit_error",
}
_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


class GatewayError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}

    def openai_body(self) -> bytes:
        kind = _OPENAI_TYPES.get(
            self.status, "api_error" if self.status >= 500 else "invalid_request_error"
        )
        error = {"message": self.message, "type": kind, "param": self.param, "code": self.code}
        return orjson.dumps({"error": error})

    def anthropic_body(self) -> bytes:
        kind = _ANTHROPIC_TYPES.get(self.status, "api_error")
        return orjson.dumps({"type": "error", "error": {"type": kind, "message": self.message}})


def bad_request(message: str, param: str | None = None) -> GatewayError:
    return GatewayError(400, message, param=param)


# Where a pydantic problem sits, before the field path: not part of the field's name.
_SOURCES = ("body", "query", "path", "header", "cookie")


def invalid_input(problems: Sequence[Any]) -> GatewayError:
    """The first problem pydantic found, as a 400 naming its field (and nothing else:
    the rendering of the whole error names the server's source files)."""
    problem = problems[0] if problems else {}
    if problem.get("type") == "json_invalid":
        return bad_request("The request body is not valid JSON.")
    location = [str(part) for part in problem.get("loc", ()) if part not in _SOURCES]
    field = ".".join(location) or None
    message = str(problem.get("msg", "not a valid value"))[:300]
    where = f"'{field}'" if field else "request"
    return bad_request(f"Invalid {where}: {message}.", param=field)
