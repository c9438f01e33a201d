"""Whether an answer is the JSON its request asked for (`jsonschema`).

Chat asks with `response_format` (`{"type": "json_schema", "json_schema": {"schema": …}}`),
the Responses API with `text.format` (`{"type": "json_schema", "schema": …}`).
`json_schema` formats are validated against their schema (its own `$schema` dialect, else
draft 2020-12); `json_object` needs a JSON object. A request that asked for neither, or
whose schema is itself invalid (the provider refuses those), is not checked.
"""

from __future__ import annotations

from typing import Any

import orjson
from jsonschema import exceptions, validators


def asked_schema(api: str, body: dict[str, Any]) -> dict[str, Any] | bool | None:
    """The schema a request asks its answer to meet: a schema, True (any object), None."""
    if api == "responses":
        text = body.get("text")
        format_ = text.get("format") if isinstance(text, dict) else None
        # The Responses API puts the schema beside the type, chat one level down.
        return _schema_of(format_, format_)
    if api == "chat":
        response_format = body.get("response_format")
        spec = response_format.get("json_schema") if isinstance(response_format, dict) else None
        return _schema_of(response_format, spec)
    return None


def _schema_of(format_: Any, spec: Any) -> dict[str, Any] | bool | None:
    if not isinstance(format_, dict):
        return None
    if format_.get("type") == "json_object":
        return True
    if format_.get("type") == "json_schema" and isinstance(spec, dict):
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
