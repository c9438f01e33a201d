"""Secrets handed to callers: virtual keys (`sk-gw-…`) and admin tokens (`sk-gwadmin-…`).

Only a SHA-256 of each is stored. A fast hash is enough here: the secrets carry 256 bits
of entropy, so there is nothing to brute-force, and the hot path pays one microsecond.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "sk-gw-"
ADMIN_TOKEN_PREFIX = "sk-gwadmin-"
# Enough of the secret for people to tell keys apart, far too little to guess the rest.
_DISPLAY_CHARS = 4


@dataclass(frozen=True, slots=True)
class IssuedSecret:
    """A new secret: `plaintext` is shown to its owner once and never stored."""

    plaintext: str
    hash: str
    display_prefix: str


def issue(prefix: str) -> IssuedSecret:
    plaintext = prefix + secrets.token_urlsafe(32)
    return IssuedSecret(
        plaintext, hash_secret(plaintext), plaintext[: len(prefix) + _DISPLAY_CHARS]
    )


def hash_secret(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()
