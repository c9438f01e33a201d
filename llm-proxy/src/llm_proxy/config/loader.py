"""Reading gateway.yaml: one clear line per problem, with its path in the file."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from llm_proxy.config.models import GatewayConfig


class ConfigError(Exception):
    """A config file that cannot be used; `problems` holds one line per problem."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


def load_config(path: str | Path) -> GatewayConfig:
    source = str(path)
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise ConfigError(source, [f"cannot read: {exc.strerror}"]) from None
    return parse_config(text, source)


def parse_config(text: str, source: str = "gateway.yaml") -> GatewayConfig:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    return validate_mapping(data, source)


def validate_mapping(data: object, source: str = "gateway.yaml") -> GatewayConfig:
    """The one validation of a config, for a file and for a document given to the admin API."""
    if not isinstance(data, dict):
        raise ConfigError(source, ["expected a mapping at the top level"])
    try:
        return GatewayConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, [line for e in exc.errors() for line in _describe(e)]) from None


def _describe(error: object) -> list[str]:
    assert isinstance(error, dict)
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"] and error["type"] == "value_error":
        # The cross-reference check: its lines already say where each problem is.
        return message.splitlines()
    location = ".".join(str(part) for part in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        message = "unknown field"
    return [f"{location}: {message}"]
