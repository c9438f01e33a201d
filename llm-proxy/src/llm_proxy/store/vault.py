"""Provider keys at rest: AES-GCM under the gateway's secret key (`config.secret_key_ref`).

The secret key itself never touches the database: it comes from `GATEWAY_SECRET_KEY` (or
the file the reference names) and is stretched to 256 bits with HKDF. Each ciphertext is
bound to its credential id (associated data), so a row copied onto another id does not
decrypt. A ciphertext records which key sealed it (a fingerprint), so one sealed under
another key is named as such instead of failing as "tampered".
"""

from __future__ import annotations

import base64
import hashlib
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from llm_proxy.config.secrets import SecretError, resolve_secret

_NONCE_BYTES = 12
_INFO = b"llm-proxy provider credentials v1"
# Shown in place of a stored key: enough to tell keys apart, never enough to use one.
SHOWN_CHARS = 4


class VaultError(Exception):
    """A credential that cannot be sealed or opened; the message names no secret."""


class Vault:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise VaultError("the gateway's secret key is empty")
        self._current = _derive(secret)
        self.key_id = _fingerprint(self._current)

    @classmethod
    def from_reference(cls, reference: str) -> Vault | None:
        """The vault for `config.secret_key_ref`, or None when that key is not set."""
        try:
            return cls(resolve_secret(reference))
        except (SecretError, VaultError):
            return None

    def seal(self, credential_id: str, plaintext: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(self._current).encrypt(nonce, plaintext.encode(), credential_id.encode())
        return base64.b64encode(nonce + sealed).decode()

    def open(self, credential_id: str, key_id: str, ciphertext: str) -> str:
        if key_id != self.key_id:
            raise VaultError(
                f"{credential_id} was sealed with another secret key ({key_id});"
                " set that key or re-enter the credential"
            )
        raw = base64.b64decode(ciphertext)
        try:
            plain = AESGCM(self._current).decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], credential_id.encode()
            )
        except InvalidTag:
            raise VaultError(f"{credential_id} does not decrypt: tampered or wrong key") from None
        return plain.decode()


def shown(plaintext: str) -> str:
    """What an answer may show of a key: its last four characters."""
    return plaintext[-SHOWN_CHARS:] if len(plaintext) > 2 * SHOWN_CHARS else ""


def _derive(secret: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO)
    return hkdf.derive(secret.encode())


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:16]
