"""Secret references (`env:NAME`, `file:PATH`, `secret:ID`): keys never live in the config.

`secret:ID` names a provider key given to the admin API; the caller passes the stored
keys it has opened (store.provider_credentials), since this layer reads no database.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from llm_proxy.config.models import STORED_SECRET


class SecretError(ValueError):
    pass


def resolve_secret(reference: str, stored: Mapping[str, str] | None = None) -> str:
    kind, _, target = reference.partition(":")
    if reference.startswith(STORED_SECRET):
        if stored is None or target not in stored:
            raise SecretError(f"{reference} is not a stored credential this gateway can open")
        return stored[target]
    if kind == "env":
        value = os.environ.get(target)
        if value is None:
            raise SecretError(f"environment variable {target} is not set")
        return value
    if kind == "file":
        try:
            return Path(target).read_text().strip()
        except OSError as exc:
            raise SecretError(f"cannot read {target}: {exc.strerror}") from None
    raise SecretError(f"{reference!r} is not an 'env:' or 'file:' reference")


def resolve_setting(reference: str, setting: str) -> str:
    """`resolve_secret`, naming the config setting the reference came from when it fails."""
    try:
        return resolve_secret(reference)
    except SecretError as exc:
        raise SecretError(f"{setting}: {exc}") from None
