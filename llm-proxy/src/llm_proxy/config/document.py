"""The managed config as a document: what `config.mode: database` stores and serves.

A document holds the managed sections (models.MANAGED_SECTIONS) only. A replica runs its
own file's process sections (listen address, database, Redis, …) with the document's
managed ones, validated together by the very validation a file gets.
"""

from __future__ import annotations

from typing import Any

from llm_proxy.config.loader import ConfigError, validate_mapping
from llm_proxy.config.models import MANAGED_SECTIONS, GatewayConfig

_MANAGED = set(MANAGED_SECTIONS)


def document_of(config: GatewayConfig) -> dict[str, Any]:
    """The managed sections, every field spelled out (so two documents diff field by field)."""
    return config.model_dump(mode="json", include=_MANAGED)


def with_document(local: GatewayConfig, document: object, source: str) -> GatewayConfig:
    """`local`'s process sections with `document`'s managed ones; ConfigError when bad."""
    if not isinstance(document, dict):
        raise ConfigError(source, ["expected a mapping at the top level"])
    problems = [
        f"{name}: set in each replica's own config file, not through the admin API"
        for name in document
        if name not in _MANAGED and name in GatewayConfig.model_fields
    ]
    if problems:
        raise ConfigError(source, problems)
    process = local.model_dump(mode="json", exclude=_MANAGED, exclude_unset=True)
    return validate_mapping({**process, **document}, source)
