"""What a virtual key may ask for: its allowed models and its cap on output tokens.

Runs after the body is read, before routing. The master key may ask for anything.
A key's default model is filled in earlier, when the body is read (`default_model`).
"""

from __future__ import annotations

from typing import Any

from llm_proxy.pipeline.context import Identity, RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request

_OUTPUT_LIMITS = ("max_completion_tokens", "max_tokens")


def default_model(body: dict[str, Any], identity: Identity) -> None:
    """A request that names no model goes to the key's default model, if it has one."""
    if body.get("model") is None and identity.default_model:
        body["model"] = identity.default_model


def authorize(ctx: RequestContext) -> None:
    identity = ctx.identity
    if identity.is_master:
        return
    allowed = identity.allowed_models
    if allowed and ctx.requested_model not in allowed:
        raise GatewayError(
            403,
            f"This API key may not use the model `{ctx.requested_model}`; "
            f"it may use: {', '.join(allowed)}.",
            code="model_not_allowed",
            param="model",
        )
    if identity.max_tokens_cap is not None and ctx.api != "embeddings":
        _cap_output(ctx.body, identity.max_tokens_cap)


def _cap_output(body: dict[str, Any], cap: int) -> None:
    present = [name for name in _OUTPUT_LIMITS if body.get(name) is not None]
    for name in present:
        value = body[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad_request(f"Invalid '{name}': expected a positive integer.", param=name)
        if value > cap:
            raise bad_request(
                f"'{name}' is {value}, over this API key's cap of {cap} output tokens.",
                param=name,
            )
    if not present:
        # Unbounded output would get around the cap: bound it at the cap.
        body["max_tokens"] = cap
