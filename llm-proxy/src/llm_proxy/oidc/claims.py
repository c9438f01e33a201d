"""Claim paths (`$.groups[0]`, `$.realm_access.roles`): where in a token a value sits.

The config validates each path's shape; here it is parsed once into steps and read from
every token's claims. A path that leads nowhere (a missing member, an index past the end,
a step into a non-container) reads as None rather than failing: the caller decides
whether that claim was required.
"""

from __future__ import annotations

import re
from typing import Any

_STEP = re.compile(r"\.([A-Za-z_][A-Za-z0-9_:\-]*)|\[(\d+)\]")


class ClaimPath:
    def __init__(self, path: str) -> None:
        self.path = path
        self._steps: list[str | int] = []
        for match in _STEP.finditer(path, 1):
            name, index = match.groups()
            self._steps.append(name if name is not None else int(index))

    def read(self, claims: dict[str, Any]) -> Any:
        value: Any = claims
        for step in self._steps:
            if isinstance(step, str):
                value = value.get(step) if isinstance(value, dict) else None
            else:
                value = value[step] if isinstance(value, list) and step < len(value) else None
            if value is None:
                return None
        return value


def text(value: Any) -> str | None:
    """A claim used as an id: a non-empty string (numbers are taken as their digits)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def names(value: Any) -> tuple[str, ...] | None:
    """A claim used as a list of names: a JSON list, or a space-separated string (`scope`)."""
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list):
        return tuple(t for item in value if (t := text(item)) is not None)
    return None
