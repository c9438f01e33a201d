"""Rendering a prompt version: Mustache (pystache), strict, with variables as data.

A version is compiled once: its partials are expanded in place (`{{> name}}`,
`{{> name@3}}`, `{{> name@label}}`, at most `MAX_DEPTH` deep) and each message parsed.
Rendering then only fills values in. A value is inserted once, verbatim (no HTML
escaping, never rendered again), so `{{…}}` or instructions inside a user's value reach
the model as text. A missing variable is an error naming every missing one, not an
empty string; variables the template never uses are reported.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import jsonschema
import pystache
from pystache.context import KeyNotFoundError
from pystache.parsed import ParsedTemplate
from pystache.parser import _CommentNode, _EscapeNode, _LiteralNode

MAX_DEPTH = 5
NAME = re.compile(r"^[a-z0-9_.-]{1,64}$")
LABEL = re.compile(r"^[a-z0-9_.-]{1,36}$")
_PARTIAL_TAG = re.compile(r"\{\{>\s*([^\s}@]+)(?:@([^\s}]+))?\s*\}\}")
_SET_DELIMITER = re.compile(r"\{\{\s*=")
# Lookups of a name that is absent: bounded so a hostile template cannot loop us.
_MAX_MISSING = 100

_RENDERER = pystache.Renderer(missing_tags="strict", escape=lambda text: text)


class TemplateError(ValueError):
    """A template that cannot be saved or rendered; the message says why, for a 400."""


@dataclass(frozen=True, slots=True)
class PartialRef:
    name: str
    selector: str | None  # a version number, a label, or None for `production`


# Given a partial reference, its text (itself possibly holding more partial tags).
PartialSource = Callable[[PartialRef], str]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A version ready to render: its messages parsed as one template, and the names used.

    The messages are joined by `separator` (random per compile, so no value can forge
    it) and rendered in one pass: pystache's per-render set-up costs more than the text.
    A template of plain variables only (most are) is also kept `flat`, literal text and
    names alternating, and rendered by a join: pystache's tree walk, the bulk of a
    render's cost, gives the same text for it.
    """

    roles: tuple[str, ...]
    template: ParsedTemplate
    separator: str
    names: frozenset[str]
    schema: dict[str, Any] | None
    flat: tuple[str, ...] | None = None


def partial_refs(text: str) -> list[PartialRef]:
    return [PartialRef(m.group(1), m.group(2)) for m in _PARTIAL_TAG.finditer(text)]


def check_syntax(text: str) -> None:
    """Refuse what cannot be compiled: bad Mustache, changed delimiters, odd partial names."""
    if _SET_DELIMITER.search(text):
        raise TemplateError("Changing Mustache delimiters ({{=…=}}) is not supported.")
    for ref in partial_refs(text):
        if not NAME.match(ref.name):
            raise TemplateError(f"Partial name '{ref.name}' must match {NAME.pattern}.")
        if ref.selector is not None and not (ref.selector.isdigit() or LABEL.match(ref.selector)):
            raise TemplateError(f"'{ref.name}@{ref.selector}': expected a version or a label.")
    try:
        pystache.parse(_PARTIAL_TAG.sub("", text))
    except Exception as exc:  # pystache raises ParsingError and plain exceptions alike
        raise TemplateError(f"The template is not valid Mustache: {exc}.") from None


def expand(text: str, source: PartialSource, chain: tuple[str, ...] = ()) -> str:
    """`text` with every partial tag replaced by the partial's own (expanded) text."""

    def replace(match: re.Match[str]) -> str:
        ref = PartialRef(match.group(1), match.group(2))
        if ref.name in chain:
            cycle = " -> ".join((*chain, ref.name))
            raise TemplateError(f"Partials include each other in a cycle: {cycle}.")
        if len(chain) >= MAX_DEPTH:
            raise TemplateError(f"Partials nest deeper than {MAX_DEPTH} levels at '{ref.name}'.")
        return expand(source(ref), source, (*chain, ref.name))

    return _PARTIAL_TAG.sub(replace, text)


def compile_messages(
    messages: Iterable[dict[str, str]], source: PartialSource, schema: dict[str, Any] | None
) -> Compiled:
    messages = list(messages)
    separator = f"\x00{secrets.token_hex(8)}\x00"
    text = separator.join(expand(message["content"], source) for message in messages)
    template = pystache.parse(text)
    roles = tuple(message["role"] for message in messages)
    names = frozenset(_names(template))
    return Compiled(roles, template, separator, names, schema, _flatten(template))


def render(compiled: Compiled, variables: dict[str, Any]) -> list[dict[str, str]]:
    """The messages with `variables` filled in; TemplateError names what is wrong."""
    if compiled.schema is not None:
        _check_schema(compiled.schema, variables)
    try:
        if compiled.flat is not None:
            text = _render_flat(compiled.flat, variables)
        else:
            text = _RENDERER.render(compiled.template, variables)
    except KeyNotFoundError:
        missing = ", ".join(sorted(missing_variables(compiled, variables)))
        raise TemplateError(f"Missing prompt variables: {missing}.") from None
    contents = text.split(compiled.separator)
    return [
        {"role": role, "content": content}
        for role, content in zip(compiled.roles, contents, strict=True)
    ]


def missing_variables(compiled: Compiled, variables: dict[str, Any]) -> set[str]:
    """Every name the render looks up and does not find (a section's too).

    Found the way Mustache itself looks them up: render, note the missing name, give it
    an empty value, render again.
    """
    trial = dict(variables)
    missing: set[str] = set()
    while len(missing) < _MAX_MISSING:
        try:
            _RENDERER.render(compiled.template, trial)
            return missing
        except KeyNotFoundError as exc:
            key = str(exc.key)
            head = key.split(".", 1)[0]
            if head in trial:  # `a.b` where `a` is given but has no `b`: name it, stop
                missing.add(key)
                return missing
            missing.add(head)
            trial[head] = ""
    return missing


def unused_variables(compiled: Compiled, variables: dict[str, Any]) -> list[str]:
    return sorted(set(variables) - compiled.names)


def _flatten(template: ParsedTemplate) -> tuple[str, ...] | None:
    """Literal text at even places, variable names at odd ones; None past plain variables."""
    parts = [""]
    for node in template._parse_tree:
        if isinstance(node, str):
            parts[-1] += node
        elif isinstance(node, _CommentNode):
            continue
        elif isinstance(node, _EscapeNode | _LiteralNode) and "." not in node.key:
            parts += [node.key, ""]
        else:  # sections, inverted sections, dotted names, `{{.}}`
            return None
    return tuple(parts)


def _render_flat(flat: tuple[str, ...], variables: dict[str, Any]) -> str:
    pieces = [flat[0]]
    for index in range(1, len(flat), 2):
        name = flat[index]
        if name not in variables:
            raise KeyNotFoundError(name, "part missing")
        value = variables[name]
        # pystache's own coercion of a non-string value
        pieces += [value if type(value) is str else _RENDERER.str_coerce(value), flat[index + 1]]
    return "".join(pieces)


def _names(template: ParsedTemplate) -> set[str]:
    return _names_in(template._parse_tree)


def _names_in(nodes: Iterable[Any]) -> set[str]:
    found: set[str] = set()
    for node in nodes:
        key = getattr(node, "key", None)
        if isinstance(key, str) and key != ".":
            found.add(key.split(".", 1)[0])
        inner = getattr(node, "parsed", None)
        if isinstance(inner, ParsedTemplate):
            found |= _names(inner)
        elif isinstance(inner, list):
            found |= _names_in(inner)
    return found


def _check_schema(schema: dict[str, Any], variables: dict[str, Any]) -> None:
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(variables)
    )
    if error is not None:
        path = "/".join(str(part) for part in error.absolute_path) or "(root)"
        raise TemplateError(
            f"Prompt variables break the prompt's schema at '{path}': {error.message}."
        )
