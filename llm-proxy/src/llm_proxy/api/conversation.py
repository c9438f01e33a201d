"""The Responses API's state: `previous_response_id` continued, `store` kept, per key.

The gateway holds the conversation itself, whatever backend answers: a request that
continues a stored response gets that response's whole conversation (its input, then its
output) in front of its own input, and goes upstream without `previous_response_id`, so a
backend never needs to have seen the earlier turn. An answer with `store` (the default)
is kept for its key; no other key can read it or continue from it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson

from llm_proxy.api.handling import Answered
from llm_proxy.identity import Identity
from llm_proxy.pipeline.context import RequestContext
from llm_proxy.pipeline.errors import GatewayError, bad_request
from llm_proxy.store.responses import ResponseStore
from llm_proxy.upstream.transports.base import Reply, Stream

_MASTER = "master"


def owner_of(identity: Identity) -> str:
    """Whose stored responses a caller may see: its key's, or the master key's."""
    return identity.key_id or _MASTER


def require_response_input(body: dict[str, Any]) -> None:
    """`input` and the fields the gateway itself acts on, checked before anything is sent."""
    value = body.get("input")
    if value is None:
        raise bad_request("Missing required parameter: 'input'.", param="input")
    if isinstance(value, list):
        if not value or not all(isinstance(item, dict) for item in value):
            raise bad_request(
                "Invalid 'input': expected a string or a non-empty array of input items.",
                param="input",
            )
    elif not isinstance(value, str):
        raise bad_request("Invalid 'input': expected a string or an array.", param="input")
    tools = body.get("tools")
    if tools is not None and (
        not isinstance(tools, list) or not all(isinstance(t, dict) for t in tools)
    ):
        raise bad_request("Invalid 'tools': expected an array of tool objects.", param="tools")
    previous = body.get("previous_response_id")
    if previous is not None and (not isinstance(previous, str) or not previous):
        raise bad_request(
            "Invalid 'previous_response_id': expected a response id.",
            param="previous_response_id",
        )
    store = body.get("store")
    if store is not None and not isinstance(store, bool):
        raise bad_request("Invalid type for 'store': expected a boolean.", param="store")
    if body.get("background"):
        raise bad_request(
            "The gateway does not run responses in the background: send 'background': false.",
            param="background",
        )
    if body.get("conversation") is not None:
        raise bad_request(
            "The gateway keeps conversations with 'previous_response_id'; "
            "'conversation' objects are not supported.",
            param="conversation",
        )


async def continue_conversation(store: ResponseStore, ctx: RequestContext) -> Answered:
    """Put the stored conversation in front of the input; return what stores the answer."""
    body = ctx.body
    owner = owner_of(ctx.identity)
    previous_id = body.pop("previous_response_id", None)
    items = _as_items(body["input"])
    if previous_id is not None:
        previous = await store.get(owner, previous_id)
        if previous is None:
            raise bad_request(
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
            )
        output = previous.response.get("output") or []
        items = [*previous.input_items, *output, *items]
        body["input"] = items
    keep = body.get("store", True) is not False

    def answered(result: Reply | Stream) -> Reply | Stream:
        # The input as it went upstream: what the guard redacted is kept redacted.
        items = _as_items(body["input"])
        if isinstance(result, Reply):
            return _stored_reply(result, store, owner, items, previous_id, keep)
        # The relayed events are taken now: `result.events` is about to name the wrapper.
        result.events = _stored_stream(
            result.events, result, store, owner, items, previous_id, keep
        )
        return result

    return answered


def _as_items(value: Any) -> list[Any]:
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value)


def _stored_reply(
    reply: Reply,
    store: ResponseStore,
    owner: str,
    items: list[Any],
    previous_id: str | None,
    keep: bool,
) -> Reply:
    if not keep and previous_id is None:
        return reply
    response = orjson.loads(reply.body)
    if not isinstance(response, dict) or not isinstance(response.get("id"), str):
        return reply
    if previous_id is not None:
        # The backend never saw it: the gateway continued the conversation for it.
        response["previous_response_id"] = previous_id
        reply.body = orjson.dumps(response)
    if keep:
        # Kept as the guard left it (redacted), not as restored for the client.
        kept = orjson.loads(reply.kept) if reply.kept is not None else response
        if previous_id is not None:
            kept["previous_response_id"] = previous_id
        store.save(owner, kept, items)
    return reply


async def _stored_stream(
    events: AsyncIterator[bytes],
    stream: Stream,
    store: ResponseStore,
    owner: str,
    items: list[Any],
    previous_id: str | None,
    keep: bool,
) -> AsyncIterator[bytes]:
    try:
        async for piece in events:
            yield piece
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()
    final = stream.final
    if keep and stream.completed and final is not None and isinstance(final.get("id"), str):
        if previous_id is not None:
            final = {**final, "previous_response_id": previous_id}
        store.save(owner, final, items)


def not_found(response_id: str) -> GatewayError:
    return GatewayError(404, f"No response found with id '{response_id}'.", param="response_id")
