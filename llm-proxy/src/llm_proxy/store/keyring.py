"""Values sealed at rest under named keys (AES-GCM): the first key seals, any key opens
what it sealed.

A key is a secret string stretched to 256 bits with HKDF, under the purpose it serves (the
same secret used for two purposes gives two keys). A sealed value is base64(nonce ‖
ciphertext ‖ tag), bound to a name as associated data (a row copied onto another id does
not open), and kept beside the id of the key that sealed it, so keys rotate: put the new
key first and keep the old ones as long as values they sealed are kept.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12


class KeyringError(Exception):
    """A value that cannot be opened; the message names no secret."""


def derive(secret: str, purpose: bytes) -> bytes:
    """The 256-bit key `secret` gives for `purpose`."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose)
    return hkdf.derive(secret.encode())


class Keyring:
    """Derived keys by id, in order: the first one seals."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ValueError("a keyring needs a key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.sealing_key = next(iter(keys))

    def __contains__(self, key_id: str) -> bool:
        return key_id in self._keys

    def seal(self, bound_to: str, plaintext: bytes) -> str:
        """`plaintext` sealed under the first key, bound to `bound_to`."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.sealing_key].encrypt(nonce, plaintext, bound_to.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, bound_to: str, key_id: str, sealed: str) -> bytes:
        """What `seal` sealed under `key_id` for `bound_to`; raises KeyringError."""
        key = self._keys.get(key_id)
        if key is None:
            raise KeyringError(f"{bound_to} was sealed with key {key_id!r}, which is not set")
        try:
            raw = base64.b64decode(sealed, validate=True)
            return key.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], bound_to.encode())
        except (InvalidTag, binascii.Error, ValueError):
            raise KeyringError(f"{bound_to} does not open: tampered or wrong key") from None
