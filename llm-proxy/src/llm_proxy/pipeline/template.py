"""The template stage: a request that names a prompt gets that prompt's messages first.

`prompt_id` (with `prompt_version` or `prompt_label`, default `production`) and
`prompt_variables` in the body select and fill a stored template. Its messages come
before the request's own (on `/v1/messages` its system text becomes `system`), and its
model and parameters are defaults the request overrides. An experiment on the prompt
picks the version when the request does not. It runs before every other stage that
reads the body, so limits, cache and routing see what will be sent. A request without
`prompt_id` costs a few dict lookups here, and no stage (no timing, no span).
"""

from __future__ import annotations

from typing import Any

from llm_proxy.pipeline.context import PromptUse, RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.templates.assignments import Assignments
from llm_proxy.templates.catalog import PromptCatalog, Resolved
from llm_proxy.templates.render import LABEL, TemplateError, render, unused_variables

FIELDS = ("prompt_id", "prompt_version", "prompt_label", "prompt_variables")


class TemplateStage:
    def __init__(self, catalog: PromptCatalog, assignments: Assignments) -> None:
        self._catalog = catalog
        self._assignments = assignments

    def named(self, ctx: RequestContext) -> bool:
        """Whether the request names a prompt (only then is the stage run)."""
        body = ctx.body
        if "prompt_id" in body:
            return True
        stray = [name for name in FIELDS if name in body]
        if stray:
            raise bad_request(f"'{stray[0]}' needs a 'prompt_id'.", param=stray[0])
        return False

    async def apply(self, ctx: RequestContext) -> PromptUse:
        body = ctx.body
        if ctx.api not in ("chat", "messages"):
            raise bad_request("Prompt templates make chat requests only.", param="prompt_id")
        name, selector, variables = _selection(body)
        found, variant = await self._resolve(ctx, name, selector)
        try:
            messages = render(found.compiled, variables)
        except TemplateError as exc:
            raise bad_request(str(exc), param="prompt_variables") from None
        for field in FIELDS:
            body.pop(field, None)
        _merge(ctx, found, messages)
        unused = tuple(unused_variables(found.compiled, variables))
        return PromptUse(found.name, found.version, variant, unused)

    async def _resolve(
        self, ctx: RequestContext, name: str, selector: int | str | None
    ) -> tuple[Resolved, str | None]:
        found = await self._catalog.resolve(name, selector)
        if found is None:
            what = name if selector is None else f"{name}@{selector}"
            raise GatewayError(404, f"No prompt '{what}'.", code="prompt_not_found")
        experiment = found.experiment if selector is None else None
        if not experiment:
            return found, None
        caller = _sticky(ctx, experiment["sticky_by"])
        variant = await self._assignments.variant(experiment, name, caller)
        version = next(v["version"] for v in experiment["variants"] if v["name"] == variant)
        chosen = await self._catalog.resolve(name, int(version))
        if chosen is None:  # the version vanished between two reads: serve the default
            return found, None
        return chosen, variant


def _selection(body: dict[str, Any]) -> tuple[str, int | str | None, dict[str, Any]]:
    name = body["prompt_id"]
    if not isinstance(name, str) or not name or len(name) > 64:
        raise bad_request("'prompt_id' must be a prompt's name.", param="prompt_id")
    version = body.get("prompt_version")
    label = body.get("prompt_label")
    if version is not None and label is not None:
        raise bad_request(
            "Give 'prompt_version' or 'prompt_label', not both.", param="prompt_label"
        )
    if version is not None and (
        not isinstance(version, int) or isinstance(version, bool) or version < 1
    ):
        raise bad_request("'prompt_version' must be a positive integer.", param="prompt_version")
    if label is not None and (not isinstance(label, str) or not LABEL.match(label)):
        raise bad_request(f"'prompt_label' must match {LABEL.pattern}.", param="prompt_label")
    variables = body.get("prompt_variables", {})
    if not isinstance(variables, dict):
        raise bad_request("'prompt_variables' must be an object.", param="prompt_variables")
    selector: int | str | None = version if version is not None else label
    return name, selector, variables


def _merge(ctx: RequestContext, found: Resolved, messages: list[dict[str, str]]) -> None:
    body = ctx.body
    own = body.get("messages") or []
    if not isinstance(own, list):
        raise bad_request("Invalid 'messages': expected an array.", param="messages")
    if ctx.api == "messages":
        system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
        messages = [m for m in messages if m["role"] not in ("system", "developer")]
        if system:
            body["system"] = _with_system("\n\n".join(system), body.get("system"))
    body["messages"] = [*messages, *own]
    for name, value in found.params.items():
        body.setdefault(name, value)
    if found.model and not body.get("model"):
        body["model"] = found.model
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise bad_request("Missing required parameter: 'model'.", param="model")
    ctx.requested_model = model


def _with_system(template_system: str, own: Any) -> Any:
    if own is None or own == "":
        return template_system
    if isinstance(own, str):
        return f"{template_system}\n\n{own}"
    if isinstance(own, list):
        return [{"type": "text", "text": template_system}, *own]
    raise bad_request("Invalid 'system': expected a string or an array.", param="system")


def _sticky(ctx: RequestContext, by: str) -> str:
    identity = ctx.identity
    if by == "key":
        value = identity.key_id
    elif by == "session":
        value = ctx.session_id
    else:
        user = ctx.body.get("user") or ctx.metadata.get("user_id")
        value = identity.user_id or (str(user) if user else None)
    # No id to stick to: this request alone decides.
    return value or ctx.request_id
