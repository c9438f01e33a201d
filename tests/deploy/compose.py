"""Reading a compose file as `docker compose` would, for checks that need no Docker engine.

`interpolate` substitutes `${NAME}`, `${NAME:-default}`, `${NAME-default}` and
`${NAME:?message}` from a given environment (the values of `.env.example`); `load` parses
the YAML (anchors and `<<` merge keys included) of the interpolated text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def variables(text: str) -> set[str]:
    """Every variable the file reads."""
    return {match["name"] for match in _VARIABLE.finditer(text)}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, environment: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        value = environment.get(match["name"])
        op, arg = match["op"], match["arg"] or ""
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if op == ":?" and not value:
            raise ValueError(f"{match['name']}: {arg}")
        return value or ""

    return _VARIABLE.sub(substitute, text)


def load(path: Path, environment: dict[str, str]) -> dict[str, Any]:
    document = yaml.safe_load(interpolate(path.read_text(), environment))
    assert isinstance(document, dict)
    return document


def host_ports(service: dict[str, Any]) -> list[tuple[str, int]]:
    """(host address, host port) of each published port in the short syntax."""
    published = []
    for entry in service.get("ports", []):
        parts = str(entry).split(":")
        if len(parts) >= 2:
            address = parts[0] if len(parts) == 3 else "0.0.0.0"
            published.append((address, int(parts[-2])))
    return published


def bind_sources(service: dict[str, Any]) -> list[str]:
    """The host paths of bind mounts (short syntax: a source starting with . or /)."""
    return [
        str(entry).split(":")[0]
        for entry in service.get("volumes", [])
        if str(entry).startswith((".", "/"))
    ]


def named_volumes(service: dict[str, Any]) -> list[str]:
    return [
        str(entry).split(":")[0]
        for entry in service.get("volumes", [])
        if not str(entry).startswith((".", "/"))
    ]


def networks(service: dict[str, Any]) -> set[str]:
    attached = service.get("networks", ["default"])
    return set(attached if isinstance(attached, list) else attached.keys())
