"""The flat renderer gives pystache's own text, and the same errors, for every template
it takes (a pure function: tested directly)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from llm_proxy.templates.render import Compiled, TemplateError, compile_messages, render

TEMPLATES = [
    "Hello {{name}}, you are on {{plan}}.",
    "{{{name}}} and {{& plan}} {{! a comment }}end",
    "{{name}}{{name}}{{plan}}",
    "no variables at all",
    "{{#items}}{{.}}, {{/items}}",  # a section: not flat
    "{{^name}}anonymous{{/name}}{{user.id}}",  # inverted section, dotted name: not flat
]
VALUES: list[dict[str, Any]] = [
    {"name": "Ann", "plan": "pro", "items": [1, 2], "user": {"id": 7}},
    {"name": 3, "plan": 2.5, "items": [], "user": {"id": None}},
    {"name": True, "plan": None, "items": ["{{plan}}"], "user": {"id": "x"}},
    {"name": "{{plan}} <b>&", "plan": ["a", {"b": 1}], "items": [{"k": 1}], "user": {"id": 0}},
]


def _compiled(text: str) -> Compiled:
    messages = [{"role": "system", "content": text}, {"role": "user", "content": "Q: {{name}}"}]
    return compile_messages(messages, lambda ref: "", None)


@pytest.mark.parametrize("text", TEMPLATES)
def test_flat_and_tree_render_the_same_text(text: str) -> None:
    compiled = _compiled(text)
    tree = dataclasses.replace(compiled, flat=None)
    for values in VALUES:
        assert render(compiled, values) == render(tree, values)


def test_only_plain_variables_are_flat() -> None:
    assert [_compiled(text).flat is not None for text in TEMPLATES] == [
        True,
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_missing_variable_is_named_by_both() -> None:
    compiled = _compiled("Hello {{name}}, you are on {{plan}}.")
    for variant in (compiled, dataclasses.replace(compiled, flat=None)):
        with pytest.raises(TemplateError, match=r"Missing prompt variables: name, plan\."):
            render(variant, {})
