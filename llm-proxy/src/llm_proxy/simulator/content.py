"""Deterministic answers: the same prompt always yields the same text, JSON or tool arguments.

A reply quotes the start of the last user message and pads with filler words. Each word is one
simulated token (the unit streamed in one delta), so a test can assert on both the text and the
token count.
"""

from __future__ import annotations

from typing import Any

_PREFIX = ("Simulated", " reply", " to:")
_QUOTED_WORDS = 8
_FILLER = (
    " lorem", " ipsum", " dolor", " sit", " amet", " consectetur", " adipiscing", " elit",
    " sed", " do", " eiusmod", " tempor", " incididunt", " ut", " labore", " et", " dolore",
    " magna", " aliqua",
)  # fmt: skip
_MAX_SCHEMA_DEPTH = 8

JsonSchema = dict[str, Any]


def reply_tokens(prompt: str, count: int) -> list[str]:
    """`count` tokens: the prefix, up to eight words of `prompt`, then filler."""
    quoted = [" " + word for word in prompt.split()[:_QUOTED_WORDS]]
    head = [*_PREFIX, *quoted][:count]
    filler = [_FILLER[i % len(_FILLER)] for i in range(count - len(head))]
    return head + filler


def reply_text(prompt: str, count: int) -> str:
    """The reply of `reply_tokens` as one string."""
    return "".join(reply_tokens(prompt, count))


def json_reply(response_format: dict[str, Any], text: str) -> Any:
    """A value that satisfies `response_format` (json_object or json_schema), built from `text`."""
    if response_format.get("type") == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        if isinstance(schema, dict):
            return value_for_schema(schema, text)
    return {"reply": text}


def value_for_schema(schema: JsonSchema, text: str) -> Any:
    """A JSON value valid for the common subset of JSON Schema that tools and formats use."""
    return _value(schema, schema, text, 0)


def _value(schema: JsonSchema, root: JsonSchema, text: str, depth: int) -> Any:
    if depth > _MAX_SCHEMA_DEPTH:
        return None
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            return _value(options[0], root, text, depth + 1)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    return _by_type(kind, schema, root, text, depth)


def _by_type(kind: str, schema: JsonSchema, root: JsonSchema, text: str, depth: int) -> Any:
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: _value(sub, root, text, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        items = schema.get("items")
        items = items if isinstance(items, dict) else {}
        count = max(1, int(schema.get("minItems", 1)))
        return [_value(items, root, text, depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        return _number(schema, integer=kind == "integer")
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return _string(schema, text)


def _number(schema: JsonSchema, *, integer: bool) -> int | float:
    value: float = 1
    if "minimum" in schema:
        value = max(value, schema["minimum"])
    if "exclusiveMinimum" in schema:
        value = max(value, schema["exclusiveMinimum"] + 1)
    if "maximum" in schema:
        value = min(value, schema["maximum"])
    return int(value) if integer else float(value)


_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00",
    "email": "sim@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def _string(schema: JsonSchema, text: str) -> str:
    fixed = _FORMATS.get(str(schema.get("format", "")))
    if fixed is not None:
        return fixed
    value = text
    max_length = schema.get("maxLength")
    if isinstance(max_length, int):
        value = value[:max_length]
    min_length = schema.get("minLength")
    if isinstance(min_length, int) and len(value) < min_length:
        value = value.ljust(min_length, "x")
    return value


def _resolve(schema: JsonSchema, root: JsonSchema) -> JsonSchema:
    """Follow local `#/...` references; anything else is treated as an open schema."""
    ref = schema.get("$ref")
    if not isinstance(ref, str):
        return schema
    if not ref.startswith("#"):
        return {}
    node: Any = root
    for part in ref.lstrip("#/").split("/"):
        if not part:
            continue
        if not isinstance(node, dict) or part not in node:
            return {}
        node = node[part]
    return node if isinstance(node, dict) else {}
