"""Fields several admin resources share: rate limits, and who may own a key.

Every field is bounded by what its column can hold (32-bit `Integer`, 64-bit `BigInteger`),
and free-form metadata by depth and size, so a value is refused before any write instead
of failing in the database or, stored, in every later listing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from pydantic import AfterValidator, AliasChoices, Field

from llm_proxy.api.admin.crud import Input, Output

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
METADATA_MAX_DEPTH = 8
METADATA_MAX_BYTES = 32 * 1024


def _bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        node, depth = pending.pop()
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, dict | list):
                if depth >= METADATA_MAX_DEPTH:
                    raise ValueError(f"nested more than {METADATA_MAX_DEPTH} levels deep")
                pending.append((child, depth + 1))
    try:
        encoded = orjson.dumps(value)
    except orjson.JSONEncodeError:
        # A lone surrogate (a \ud800 escape in the JSON) parses into a str no UTF-8 can hold.
        raise ValueError("holds text that is not valid Unicode (a lone surrogate)") from None
    if len(encoded) > METADATA_MAX_BYTES:
        raise ValueError(f"larger than {METADATA_MAX_BYTES} bytes as JSON")
    return value


Count = Annotated[int, Field(gt=0, le=INT32_MAX)]
BigCount = Annotated[int, Field(gt=0, le=INT64_MAX)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Id = Annotated[str, Field(min_length=1, max_length=40)]
Metadata = Annotated[
    dict[str, Any],
    AfterValidator(_bounded_metadata),
    Field(
        description=f"free-form labels, returned as given (at most {METADATA_MAX_DEPTH} "
        f"levels deep and {METADATA_MAX_BYTES} bytes)"
    ),
]
MetadataOut = Annotated[
    dict[str, Any], Field(validation_alias=AliasChoices("metadata_", "metadata"))
]


class LimitsIn(Input):
    """Per-minute and per-day caps; null means no cap on that dimension."""

    rpm: Count | None = None
    tpm: Count | None = None
    input_tpm: Count | None = None
    output_tpm: Count | None = None
    tpd: Count | None = None


class LimitsOut(Output):
    rpm: int | None
    tpm: int | None
    input_tpm: int | None
    output_tpm: int | None
    tpd: int | None


class Stamped(Output):
    created_at: datetime


def inline_defs(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON schema with its `$defs` written in place, for an `openapi_extra` body:
    nothing in the OpenAPI document resolves a body schema's own `#/$defs/…` references
    (openapi-typescript, which types the dashboard, refuses such a document)."""
    inlined: dict[str, Any] = _inline(schema, schema.get("$defs", {}))
    return inlined


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _inline(defs[ref.removeprefix("#/$defs/")], defs)
    return {k: _inline(v, defs) for k, v in node.items() if k != "$defs"}
