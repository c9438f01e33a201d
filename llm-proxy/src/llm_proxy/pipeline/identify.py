"""Who is calling: the credential from `Authorization: Bearer` or `x-api-key`."""

from __future__ import annotations

import hmac

from llm_proxy.pipeline.errors import GatewayError


def credential(headers: dict[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
    return headers.get("x-api-key") or None


def require_master_key(headers: dict[str, str], master_key: str) -> None:
    presented = credential(headers)
    if presented is None:
        raise GatewayError(
            401,
            "You didn't provide an API key. Send it as 'Authorization: Bearer <key>' "
            "or 'x-api-key: <key>'.",
        )
    # Constant-time, so the comparison leaks nothing about how much of the key matched.
    if not hmac.compare_digest(presented.encode(), master_key.encode()):
        raise GatewayError(401, "Incorrect API key provided.", code="invalid_api_key")
