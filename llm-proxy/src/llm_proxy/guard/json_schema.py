"""Whether an answer is the JSON its request's `response_format` asked for (`jsonschema`).

`json_schema` formats are validated against their schema (its own `$schema` dialect, else
draft 2020-12); `json_object` needs a JSON object. A request that asked for neither, or
whose schema is itself invalid (the provider refuses those), is not checked.
"""

from __future__ import annotations

from typing import Any

import orjson
from jsonschema import exceptions, validators


def asked_schema(body: dict[str, Any]) -> dict[str, Any] | bool | None:
    """The schema a chat request asks its answer to meet: a schema, True (any object), None."""
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return None
    if response_format.get("type") == "json_object":
        return True
    spec = response_format.get("json_schema")
    if response_format.get("type") == "json_schema" and isinstance(spec, dict):
        schema = spec.get("schema")
        if isinstance(schema, dict):
            return schema
    return None


def violation(content: str, schema: dict[str, Any] | bool) -> str | None:
    """Why `content` fails the schema (a short reason, not the content), or None."""
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        return "not JSON"
    if schema is True:
        return None if isinstance(document, dict) else "not a JSON object"
    assert isinstance(schema, dict)
    validator_class = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        validator_class.check_schema(schema)
    except exceptions.SchemaError:
        return None
    error = exceptions.best_match(validator_class(schema).iter_errors(document))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"{error.validator} at {where}"
