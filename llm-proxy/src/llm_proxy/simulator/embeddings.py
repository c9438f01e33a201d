"""Embedding vectors derived from a hash of the input: stable, unit length, any dimension."""

from __future__ import annotations

import base64
import hashlib
import math
import sys
from array import array
from functools import lru_cache


@lru_cache(maxsize=1024)
def vector(data: bytes, dimensions: int) -> tuple[float, ...]:
    """A unit vector of `dimensions` components that depends only on `data` and `dimensions`."""
    digest = hashlib.shake_256(dimensions.to_bytes(4, "little") + data).digest(dimensions * 2)
    raw = array("H", digest)
    centred = [value - 32767.5 for value in raw]
    norm = math.sqrt(sum(value * value for value in centred)) or 1.0
    return tuple(value / norm for value in centred)


def as_base64(values: tuple[float, ...]) -> str:
    """OpenAI's base64 encoding: little-endian float32 values."""
    packed = array("f", values)
    if sys.byteorder == "big":
        packed.byteswap()
    return base64.b64encode(packed.tobytes()).decode()
