"""Secret references (`env:NAME`, `file:PATH`): keys never live in the config file."""

from __future__ import annotations

import os
from pathlib import Path


class SecretError(ValueError):
    pass


def resolve_secret(reference: str) -> str:
    kind, _, target = reference.partition(":")
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
