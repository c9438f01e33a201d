"""Fields several admin resources share: rate limits, and who may own a key."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from llm_proxy.api.admin.crud import Input, Output
from pydantic import AliasChoices, Field

Count = Annotated[int, Field(gt=0)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Id = Annotated[str, Field(min_length=1, max_length=40)]
Metadata = Annotated[dict[str, Any], Field(description="free-form labels, returned as given")]
MetadataOut = Annotated[
    dict[str, Any], Field(validation_alias=AliasChoices("metadata_", "metadata"))
]


class LimitsIn(Input):
    """Per-minute and per-day caps; null means no cap on that dimension."""

    rpm: Count | None = None
    tpm: Count | None = None
    input_tpm: Count | None = None
    output_tpm: Count | None = None
    tpd: Count | None = None


class LimitsOut(Output):
    rpm: int | None
    tpm: int | None
    input_tpm: int | None
    output_tpm: int | None
    tpd: int | None


class Stamped(Output):
    created_at: datetime
