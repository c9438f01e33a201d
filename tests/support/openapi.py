"""Validating bodies against OpenAI's own OpenAPI document (../shared/specs)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = Path(__file__).resolve().parents[3] / "shared" / "specs" / "openai-openapi.yaml"


def _nullable_to_31(node: Any) -> Any:
    """The document is OpenAPI 3.1 yet uses 3.0's `nullable` in places: make it JSON Schema."""
    if isinstance(node, list):
        return [_nullable_to_31(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _nullable_to_31(value) for key, value in node.items()}
    if node.pop("nullable", False):
        if "$ref" in node:
            return {"anyOf": [{"$ref": node.pop("$ref")}, {"type": "null"}], **node}
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        if "enum" in node:
            node["enum"] = [*node["enum"], None]
    return node


@cache
def _registry() -> Registry:
    document = yaml.load(SPEC.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    resource = Resource.from_contents(_nullable_to_31(document), default_specification=DRAFT202012)
    return Registry().with_resource("urn:openai", resource)


@cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"urn:openai#/components/schemas/{name}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def validate(schema_name: str, instance: Any) -> None:
    """Raise jsonschema.ValidationError if `instance` breaks the named schema."""
    _validator(schema_name).validate(instance)
