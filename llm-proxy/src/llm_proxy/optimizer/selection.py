"""Which approach a request asks for, and whether its key and team may use it.

Named by the `optillm_approach` body field, by `metadata.optillm_approach`, or by a model
prefix (`moa-gpt-4o-mini`). A prefix is read only when the whole name is not itself a
model, and only against the configured model names: every split of the name whose tail
is a served model and whose head names known approaches is a reading, and more than one
reading is refused as ambiguous rather than guessed. `a&b` is a pipeline: b answers a's
answer. The field is a gateway extension: taken out of the body before anything is sent on.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from llm_proxy.config.optimizer import NEVER, Optimizer
from llm_proxy.identity import Identity
from llm_proxy.pipeline.errors import GatewayError, bad_request

FIELD = "optillm_approach"
# metadata `optimizer_approaches` on a key or team: the approaches its requests may use.
ALLOWED_KEY = "optimizer_approaches"


@dataclass(frozen=True, slots=True)
class Selection:
    approaches: tuple[str, ...]
    model: str  # the model the sub-calls ask for


def select(
    body: dict[str, Any], model: str, served: Collection[str], config: Optimizer
) -> Selection | None:
    """The request's approaches, taken out of its body; None when it names none."""
    known = {*config.default_on, *config.opt_in, *NEVER}
    named = _named(body)
    if named is not None:
        return Selection(_pipeline(named, known), model)
    if model in served:
        return None
    readings = _readings(model, served, known)
    if not readings:
        return None
    if len(readings) > 1:
        options = " or ".join(f"{head!r} on {tail!r}" for head, tail in readings)
        raise bad_request(
            f"The model name {model!r} reads as more than one approach and model ({options}); "
            f"name the approach in '{FIELD}' instead.",
            param="model",
        )
    head, tail = readings[0]
    return Selection(tuple(head.split("&")), tail)


def check_allowed(selection: Selection, identity: Identity, config: Optimizer) -> None:
    """403 for an approach this caller may not use, naming it and why."""
    for name in selection.approaches:
        if name in NEVER:
            raise _forbidden(
                f"The approach {name!r} runs model-written code or fetches URLs; this "
                "gateway never runs it."
            )
        lists = identity.optimizer_approaches
        if any(name not in listed for listed in lists):
            raise _forbidden(
                f"The approach {name!r} is not among the approaches this key or its team "
                f"may use (metadata {ALLOWED_KEY})."
            )
        if name in config.default_on:
            continue
        if name not in config.opt_in:
            raise _forbidden(f"The approach {name!r} is not enabled on this gateway.")
        if not lists and not identity.is_master:
            raise _forbidden(
                f"The approach {name!r} is opt-in: a key or team must list it in its "
                f"metadata {ALLOWED_KEY} to use it."
            )


def _named(body: dict[str, Any]) -> str | None:
    """The field's value (body or metadata), removed from both; 400 if malformed."""
    values = []
    if FIELD in body:
        values.append(body.pop(FIELD))
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and FIELD in metadata:
        values.append(metadata.pop(FIELD))
    for value in values:
        if not isinstance(value, str) or not value:
            raise bad_request(f"Invalid '{FIELD}': expected a non-empty string.", param=FIELD)
    if len(set(values)) > 1:
        raise bad_request(
            f"'{FIELD}' and 'metadata.{FIELD}' name different approaches.", param=FIELD
        )
    return values[0] if values else None


def _pipeline(value: str, known: set[str]) -> tuple[str, ...]:
    names = tuple(value.split("&"))
    for name in names:
        if name not in known:
            raise bad_request(
                f"Unknown approach {name!r} in '{FIELD}'; known: {', '.join(sorted(known))}.",
                param=FIELD,
            )
    return names


def _readings(model: str, served: Collection[str], known: set[str]) -> list[tuple[str, str]]:
    readings = []
    for index, char in enumerate(model):
        if char != "-":
            continue
        head, tail = model[:index], model[index + 1 :]
        if tail in served and head and all(part in known for part in head.split("&")):
            readings.append((head, tail))
    return readings


def _forbidden(message: str) -> GatewayError:
    return GatewayError(403, message, code="approach_not_allowed", param=FIELD)
