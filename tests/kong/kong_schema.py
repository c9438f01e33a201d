"""Validation of a Kong declarative config against Kong's own schemas (shared/kong/).

Two checks, as Kong and decK make them:
- structure: the file against `kong_declarative_json_schema.json` (JSON Schema, draft 4);
- fields: every entity and plugin config against `kong_plugin_schemas.json`, which holds
  Kong's schema.lua definitions in Kong's field format (types, required/defaults, enums,
  ranges, Lua patterns, unknown fields, entity checks). This module reads that format.

Kong's custom validators are Lua functions and are not run here (the file names them).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SHARED = Path(__file__).resolve().parents[3] / "shared" / "kong"
_MISSING = object()


@cache
def kong_schemas() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SHARED / "kong_plugin_schemas.json").read_text())
    return data


@cache
def declarative_json_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SHARED / "kong_declarative_json_schema.json").read_text())
    return data


def structure_problems(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(declarative_json_schema())
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def field_problems(document: dict[str, Any]) -> list[str]:
    return list(_Document(document).problems())


def plugin_problems(plugin: dict[str, Any], nested: bool = False) -> list[str]:
    """One plugin entry (name, config, protocols, ...) against its Kong schema."""
    return list(_check_plugin(plugin, "plugin", nested))


# -- the declarative document ---------------------------------------------------------------


class _Document:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.seen: dict[tuple[str, str], set[Any]] = {}

    def problems(self) -> Iterator[str]:
        top = kong_schemas()["declarative_config"]["top_level_fields"]
        entities = kong_schemas()["entities"]
        for name, value in self.document.items():
            if name in top:
                yield from _check_field(top[name], value, name)
            elif name not in entities:
                yield f"{name}: no Kong schema for this entity type here"
        if "_format_version" not in self.document:
            yield "_format_version: required field missing"
        for kind in entities:
            for i, record in enumerate(self.document.get(kind) or []):
                yield from self._entity(kind, record, f"{kind}[{i}]", nested=False)
        yield from self._references()

    def _entity(self, kind: str, record: Any, path: str, nested: bool) -> Iterator[str]:
        if not isinstance(record, dict):
            yield f"{path}: expected a record"
            return
        children = {
            n["nested_key"]: n["nested_key"]
            for n in kong_schemas()["declarative_config"]["nesting"].get(kind, [])
        }
        own = {k: v for k, v in record.items() if k not in children}
        if kind == "plugins":
            yield from _check_plugin(own, path, nested)
        else:
            yield from _check_entity(kind, own, path, nested)
        yield from self._unique(kind, record, path)
        for key in children:
            for i, child in enumerate(record.get(key) or []):
                yield from self._entity(key, child, f"{path}.{key}[{i}]", nested=True)

    def _unique(self, kind: str, record: dict[str, Any], path: str) -> Iterator[str]:
        schema = kong_schemas()["entities"][kind]
        for name, spec in schema["fields"].items():
            unique = spec.get("unique") or name in schema.get("primary_key", [])
            value = record.get(name)
            if not unique or value is None or isinstance(value, dict | list):
                continue
            seen = self.seen.setdefault((kind, name), set())
            if value in seen:
                yield f"{path}.{name}: uniqueness violation: {value!r} is already used"
            seen.add(value)

    def _references(self) -> Iterator[str]:
        """Top-level foreign keys name an entity of the file, by id or endpoint key."""
        entities = kong_schemas()["entities"]
        for kind in entities:
            for i, record in enumerate(self.document.get(kind) or []):
                for name, spec in entities[kind]["fields"].items():
                    value = record.get(name) if isinstance(record, dict) else None
                    if spec.get("type") != "foreign" or value is None:
                        continue
                    target = spec["reference"]
                    known = self._keys(target)
                    if value not in known:
                        yield f"{kind}[{i}].{name}: no {target} with id or name {value!r}"

    def _keys(self, kind: str) -> set[Any]:
        endpoint = kong_schemas()["entities"].get(kind, {}).get("endpoint_key")
        keys: set[Any] = set()
        for record in self._all(kind):
            keys.add(record.get("id"))
            if endpoint:
                keys.add(record.get(endpoint))
        keys.discard(None)
        return keys

    def _all(self, kind: str) -> Iterator[dict[str, Any]]:
        nesting = kong_schemas()["declarative_config"]["nesting"]
        yield from self.document.get(kind) or []
        for parent, links in nesting.items():
            for link in links:
                if link["nested_key"] == kind:
                    for record in self.document.get(parent) or []:
                        yield from record.get(kind) or []


# -- entities and plugins ---------------------------------------------------------------------

_EVERY_ENTITY_ACCEPTS = {"_comment": {"type": "string"}, "_ignore": {"type": "array"}}


def _check_entity(kind: str, record: dict[str, Any], path: str, nested: bool) -> Iterator[str]:
    schema = kong_schemas()["entities"][kind]
    fields = _foreign_rules(dict(schema["fields"]), nested)
    if kind == "routes":
        protocols = record.get("protocols") or fields["protocols"].get("default") or ["http"]
        subschema = schema["subschemas_by_protocol"].get(protocols[0], {})
        fields.update(subschema.get("field_overrides", {}))
        checks = schema.get("entity_checks", []) + subschema.get("entity_checks", [])
    else:
        checks = schema.get("entity_checks", [])
    if schema.get("ttl"):
        fields["ttl"] = {"type": "integer", "required": False}
    spec = {
        "type": "record",
        "fields": {**_EVERY_ENTITY_ACCEPTS, **fields},
        "entity_checks": checks,
        "shorthand_fields": schema.get("shorthand_fields", {}),
    }
    yield from _check_field(spec, record, path)


def _check_plugin(record: dict[str, Any], path: str, nested: bool) -> Iterator[str]:
    name = record.get("name")
    plugins = kong_schemas()["plugins"]
    if name not in plugins:
        yield f"{path}.name: plugin {name!r} not enabled; add it to the 'plugins' property"
        return
    plugin = plugins[name]
    fields = dict(kong_schemas()["entities"]["plugins"]["fields"])
    fields["protocols"] = plugin["protocols"]
    fields.update(plugin.get("top_level_field_overrides", {}))
    fields = _foreign_rules(fields, nested)
    # Kong makes a plugin's config record required (pre-function's entry lacks the marker).
    config = plugin.get("config_record", {"required": True, "required_implicit": True})
    fields["config"] = {"type": "record", "fields": plugin["config"], **config}
    spec = {
        "type": "record",
        "fields": {**_EVERY_ENTITY_ACCEPTS, **fields},
        "entity_checks": plugin.get("entity_checks", []),
    }
    yield from _check_field(spec, record, f"{path}({name})")


def _foreign_rules(fields: dict[str, Any], nested: bool) -> dict[str, Any]:
    """Nested, a foreign key is implied by the parent and must be null; at the top level
    it is a string naming the referenced entity."""
    ruled = {}
    for name, spec in fields.items():
        if spec.get("type") == "foreign":
            if nested or ("eq" in spec and spec["eq"] is None):
                spec = {**spec, "eq": None, "required": False}
            spec = {**spec, "type": "string"}
        ruled[name] = spec
    return ruled


# -- Kong's field format ----------------------------------------------------------------------


def _check_field(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if value is None or value is _MISSING:
        if spec.get("required") and "default" not in spec and not spec.get("required_implicit"):
            yield f"{path}: required field missing"
        elif spec.get("type") == "record" and spec.get("required_implicit"):
            # Kong builds a missing record from its sub-fields' defaults.
            yield from _check_field(spec, {}, path)
        return
    if "eq" in spec and spec["eq"] is None:
        yield f"{path}: value must be null"
        return
    kind = str(spec.get("type"))
    checker = _TYPES.get(kind)
    if checker is None:
        yield f"{path}: unsupported Kong field type {kind!r}"
        return
    yield from checker(spec, value, path)


def _check_string(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, str):
        yield f"{path}: expected a string"
        return
    yield from _check_common(spec, value, path)
    if "len_min" in spec and len(value) < spec["len_min"]:
        yield f"{path}: length must be at least {spec['len_min']}"
    if "len_max" in spec and len(value) > spec["len_max"]:
        yield f"{path}: length must be at most {spec['len_max']}"
    if "starts_with" in spec and not value.startswith(spec["starts_with"]):
        yield f"{path}: should start with: {spec['starts_with']}"
    if spec.get("uuid"):
        try:
            uuid.UUID(value)
        except ValueError:
            yield f"{path}: expected a valid UUID"
    yield from _check_patterns(spec, value, path)


def _check_patterns(spec: dict[str, Any], value: str, path: str) -> Iterator[str]:
    if "match" in spec and not lua_find(spec["match"], value):
        yield f"{path}: invalid value: {value}"
    for rule in spec.get("match_none", []):
        if lua_find(rule["pattern"], value):
            yield f"{path}: {rule['err']}"
    for rule in spec.get("match_all", []):
        if not lua_find(rule["pattern"], value):
            yield f"{path}: {rule['err']}"
    if "match_any" in spec:
        rule = spec["match_any"]
        if not any(lua_find(p, value) for p in rule["patterns"]):
            yield f"{path}: {rule['err']}"


def _check_number(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    integer = spec["type"] == "integer"
    ok = isinstance(value, int) if integer else isinstance(value, int | float)
    if isinstance(value, bool) or not ok:
        yield f"{path}: expected {'an integer' if integer else 'a number'}"
        return
    yield from _check_common(spec, value, path)
    if "between" in spec:
        low, high = spec["between"]
        if not low <= value <= high:
            yield f"{path}: value should be between {low} and {high}"
    if "gt" in spec and not value > spec["gt"]:
        yield f"{path}: value must be greater than {spec['gt']}"


def _check_boolean(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, bool):
        yield f"{path}: expected a boolean"


def _check_array(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, list):
        yield f"{path}: expected {'a set' if spec['type'] == 'set' else 'an array'}"
        return
    if "len_min" in spec and len(value) < spec["len_min"]:
        yield f"{path}: length must be at least {spec['len_min']}"
    if "len_max" in spec and len(value) > spec["len_max"]:
        yield f"{path}: length must be at most {spec['len_max']}"
    if spec["type"] == "set" and len({json.dumps(v, sort_keys=True) for v in value}) < len(value):
        yield f"{path}: set elements must be unique"
    elements = spec.get("elements")
    for i, element in enumerate(value):
        if element is None:
            yield f"{path}[{i}]: required field missing"
        elif elements:
            yield from _check_field(elements, element, f"{path}[{i}]")
    subsets = spec.get("mutually_exclusive_subsets", [])
    chosen = [subset for subset in subsets if set(value) & set(subset)]
    if len(chosen) > 1:
        yield f"{path}: these sets are mutually exclusive: {chosen}"


def _check_map(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{path}: expected a map"
        return
    for key, item in value.items():
        if "keys" in spec:
            yield from _check_field(spec["keys"], key, f"{path}.{key}(key)")
        if "values" in spec:
            yield from _check_field(spec["values"], item, f"{path}.{key}")


def _check_record(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        yield f"{path}: expected a record"
        return
    fields: dict[str, Any] = spec.get("fields", {})
    shorthands: dict[str, Any] = spec.get("shorthand_fields", {})
    for key in value:
        if key not in fields and key not in shorthands and key != "updated_at":
            yield f"{path}.{key}: unknown field"
    for key, item in value.items():
        if key in shorthands and key not in fields:
            yield from _check_field(shorthands[key], item, f"{path}.{key}")
    for name, field in fields.items():
        yield from _check_field(field, value.get(name, _MISSING), f"{path}.{name}")
    effective = _with_defaults(fields, value)
    for check in spec.get("entity_checks", []):
        yield from _entity_check(check, effective, path)


def _check_any(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    return iter(())


def _check_common(spec: dict[str, Any], value: Any, path: str) -> Iterator[str]:
    if "one_of" in spec and value not in spec["one_of"]:
        yield f"{path}: expected one of: {', '.join(map(str, spec['one_of']))}"
    if "not_one_of" in spec and value in spec["not_one_of"]:
        yield f"{path}: must not be one of: {', '.join(map(str, spec['not_one_of']))}"
    if "ne" in spec and value == spec["ne"]:
        yield f"{path}: {spec.get('err') or 'value must not be ' + repr(spec['ne'])}"


_TYPES = {
    "string": _check_string,
    "integer": _check_number,
    "number": _check_number,
    "boolean": _check_boolean,
    "array": _check_array,
    "set": _check_array,
    "map": _check_map,
    "record": _check_record,
    "any": _check_any,
}


def _with_defaults(fields: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
    """The record as Kong sees it after filling in defaults (entity checks run on that)."""
    effective = copy.deepcopy(value)
    for name, spec in fields.items():
        current = effective.get(name)
        if spec.get("type") == "record" and "fields" in spec:
            if current is None and (spec.get("required") or spec.get("required_implicit")):
                current = copy.deepcopy(spec.get("default")) or {}
            if isinstance(current, dict):
                effective[name] = _with_defaults(spec["fields"], current)
        elif current is None and "default" in spec:
            effective[name] = copy.deepcopy(spec["default"])
    return effective


# -- entity checks ----------------------------------------------------------------------------


def _entity_check(check: dict[str, Any], record: dict[str, Any], path: str) -> Iterator[str]:
    ((kind, arguments),) = check.items()
    if kind == "at_least_one_of":
        if all(_get(record, f) is None for f in arguments):
            yield f"{path}: at least one of these fields must be non-empty: {', '.join(arguments)}"
    elif kind == "only_one_of":
        if sum(_get(record, f) is not None for f in arguments) != 1:
            yield f"{path}: only one of these fields must be non-empty: {', '.join(arguments)}"
    elif kind == "mutually_required":
        present = [_get(record, f) is not None for f in arguments]
        if any(present) and not all(present):
            yield f"{path}: all or none of these fields must be set: {', '.join(arguments)}"
    elif kind == "conditional":
        yield from _conditional(arguments, record, path)
    elif kind == "conditional_at_least_one_of":
        yield from _conditional_at_least_one_of(arguments, record, path)
    elif kind != "custom_entity_check":  # Lua functions: not run here
        yield f"{path}: unsupported entity check {kind!r}"


def _conditional(rule: dict[str, Any], record: dict[str, Any], path: str) -> Iterator[str]:
    if not _matches(rule["if_match"], _get(record, rule["if_field"])):
        return
    if not _matches(rule["then_match"], _get(record, rule["then_field"])):
        default = f"failed conditional validation given value of field '{rule['if_field']}'"
        yield f"{path}.{rule['then_field']}: {rule.get('then_err', default)}"


def _conditional_at_least_one_of(
    rule: dict[str, Any], record: dict[str, Any], path: str
) -> Iterator[str]:
    value = _get(record, rule["if_field"])
    if _matches(rule["if_match"], value):
        fields, err = rule["then_at_least_one_of"], rule.get("then_err", "must set one of %s")
    elif "else_match" in rule and _matches(rule["else_match"], value):
        fields, err = rule["else_then_at_least_one_of"], rule.get("else_then_err", "%s")
    else:
        return
    if all(_get(record, f) in (None, [], {}) for f in fields):
        yield f"{path}: {err.replace('%s', ', '.join(fields))}"


def _matches(matcher: dict[str, Any], value: Any) -> bool:
    if value is None:
        # As Kong's validate_field: a null passes unless it is required or must equal a value.
        return not matcher.get("required") and matcher.get("eq") is None
    for kind, expected in matcher.items():
        if kind == "type":
            continue
        if kind == "required":
            ok = True
        elif kind == "eq":
            ok = value == expected
        elif kind == "ne":
            ok = value != expected
        elif kind == "one_of":
            ok = value in expected
        elif kind == "not_one_of":
            ok = value not in expected
        elif kind == "len_eq":
            ok = len(value) == expected
        elif kind == "len_min":
            ok = len(value) >= expected
        elif kind == "contains":
            ok = expected in value
        elif kind == "elements":
            ok = all(_matches(expected, element) for element in value)
        else:
            raise ValueError(f"unsupported matcher {kind!r}")
        if not ok:
            return False
    return True


def _get(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


# -- Lua patterns -----------------------------------------------------------------------------

_LUA_CLASSES = {
    "a": "A-Za-z",
    "d": "0-9",
    "l": "a-z",
    "u": "A-Z",
    "s": r" \t\n\r\f\v",
    "w": "A-Za-z0-9",
    "x": "0-9A-Fa-f",
    "p": re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "c": r"\x00-\x1f\x7f",
}


def lua_find(pattern: str, subject: str) -> bool:
    """`string.find(subject, pattern)` for the Lua patterns Kong's schemas use."""
    return re.search(lua_pattern_to_regex(pattern), subject, re.DOTALL) is not None


@cache
def lua_pattern_to_regex(pattern: str) -> str:
    out: list[str] = []
    i = 0
    atom = False  # whether the last thing emitted can take a quantifier
    while i < len(pattern):
        char = pattern[i]
        if char == "^" and i == 0:
            out.append("^")
        elif char == "$" and i == len(pattern) - 1:
            out.append("$")
        elif char == "%":
            i += 1
            out.append(_lua_escape(pattern[i], in_set=False))
            atom = True
            i += 1
            continue
        elif char == "[":
            end, body = _lua_set(pattern, i + 1)
            out.append(body)
            i = end + 1
            atom = True
            continue
        elif char in "*+?" and atom:
            out.append(char)
            atom = False
        elif char == "-" and atom:
            out.append("*?")
            atom = False
        elif char == ".":
            out.append(".")
            atom = True
        else:
            out.append(re.escape(char))
            atom = True
        i += 1
    return "".join(out)


def _lua_escape(char: str, in_set: bool) -> str:
    if char in ("b", "f"):
        raise ValueError(f"Lua pattern item %{char} is not supported here")
    lower = char.lower()
    if lower in _LUA_CLASSES and char.isalpha():
        body = _LUA_CLASSES[lower]
        if in_set:
            if char.isupper():
                raise ValueError(f"negated class %{char} inside a set is not supported here")
            return body
        return f"[^{body}]" if char.isupper() else f"[{body}]"
    return re.escape(char)


def _lua_set(pattern: str, start: int) -> tuple[int, str]:
    parts = ["["]
    i = start
    if i < len(pattern) and pattern[i] == "^":
        parts.append("^")
        i += 1
    first = True
    while i < len(pattern) and (pattern[i] != "]" or first):
        char = pattern[i]
        if char == "%":
            parts.append(_lua_escape(pattern[i + 1], in_set=True))
            i += 2
        elif i + 2 < len(pattern) and pattern[i + 1] == "-" and pattern[i + 2] != "]":
            parts.append(f"{re.escape(char)}-{re.escape(pattern[i + 2])}")
            i += 3
        else:
            parts.append(re.escape(char))
            i += 1
        first = False
    if i >= len(pattern):
        raise ValueError(f"malformed Lua pattern (missing ']'): {pattern!r}")
    parts.append("]")
    return i, "".join(parts)
