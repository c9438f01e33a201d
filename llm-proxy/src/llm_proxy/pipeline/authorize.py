"""What a virtual key may ask for: its allowed models and its cap on output tokens.

Runs after the body is read, before limits and routing, which count on the output-token
limits it checks. The master key may ask for any model and any number of tokens.
A key's default model is filled in earlier, when the body is read (`default_model`).
"""

from __future__ import annotations

from typing import Any

from llm_proxy.identity import Identity
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.pipeline.tokens import OUTPUT_LIMITS

# The field a capped request without a limit of its own gets, per API.
_CAP_FIELDS = {"responses": "max_output_tokens"}


def default_model(body: dict[str, Any], identity: Identity) -> None:
    """A request that names no model goes to the key's default model, if it has one."""
    if body.get("model") is None and identity.default_model:
        body["model"] = identity.default_model


def authorize(ctx: RequestContext) -> None:
    identity = ctx.identity
    limits = _output_limits(ctx.body) if ctx.api != "embeddings" else {}
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
    cap = identity.max_tokens_cap
    if cap is None or ctx.api == "embeddings":
        return
    # Each of `n` choices may use the limit: the cap bounds their sum.
    n = ctx.body.get("n")
    choices = n if isinstance(n, int) and not isinstance(n, bool) and n > 1 else 1
    for name, value in limits.items():
        if value * choices > cap:
            asked = f"{value} for each of {choices} choices" if choices > 1 else str(value)
            raise bad_request(
                f"'{name}' is {asked}, over this API key's cap of {cap} output tokens.",
                param=name,
            )
    if not limits:
        # Unbounded output would get around the cap: bound it at the cap.
        if choices > cap:
            raise bad_request(
                f"'n' is {choices}, more choices than this API key's cap of {cap} output tokens.",
                param="n",
            )
        ctx.body[_CAP_FIELDS.get(ctx.api, "max_tokens")] = cap // choices


def _output_limits(body: dict[str, Any]) -> dict[str, int]:
    """The output-token limits a request sets, checked: later stages count on integers."""
    limits = {}
    for name in OUTPUT_LIMITS:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise bad_request(f"Invalid '{name}': expected a positive integer.", param=name)
        limits[name] = value
    return limits
