"""The base of every gateway.yaml section: unknown fields are errors, values are frozen;
and the check every setting naming a secret passes."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def secret_reference(value: str | None) -> str | None:
    """A setting that names a secret: `env:NAME` or `file:PATH`, never the secret itself."""
    if value is not None and not value.startswith(("env:", "file:")):
        raise ValueError("must be a reference 'env:NAME' or 'file:PATH', never the secret")
    return value
