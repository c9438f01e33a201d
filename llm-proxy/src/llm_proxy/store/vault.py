"""Provider keys at rest: AES-GCM under the gateway's secret key (`config.secret_key_ref`).

The secret key itself never touches the database: it comes from `GATEWAY_SECRET_KEY` (or
the file the reference names) and is stretched to 256 bits with HKDF. Each ciphertext is
bound to its credential id (associated data), so a row copied onto another id does not
decrypt. A ciphertext records which key sealed it (a fingerprint), so one sealed under
another key is named as such instead of failing as "tampered".
"""

from __future__ import annotations

import hashlib

from llm_proxy.config.secrets import SecretError, resolve_secret
from llm_proxy.store.keyring import Keyring, KeyringError, derive

_INFO = b"llm-proxy provider credentials v1"
# Shown in place of a stored key: enough to tell keys apart, never enough to use one.
SHOWN_CHARS = 4


class VaultError(Exception):
    """A credential that cannot be sealed or opened; the message names no secret."""


class Vault:
    def __init__(self, secret: str) -> None:
        if not secret:
            raise VaultError("the gateway's secret key is empty")
        key = derive(secret, _INFO)
        self.key_id = _fingerprint(key)
        self._ring = Keyring({self.key_id: key})

    @classmethod
    def from_reference(cls, reference: str) -> Vault | None:
        """The vault for `config.secret_key_ref`, or None when that key is not set."""
        try:
            return cls(resolve_secret(reference))
        except (SecretError, VaultError):
            return None

    def seal(self, credential_id: str, plaintext: str) -> str:
        return self._ring.seal(credential_id, plaintext.encode())

    def open(self, credential_id: str, key_id: str, ciphertext: str) -> str:
        if key_id != self.key_id:
            raise VaultError(
                f"{credential_id} was sealed with another secret key ({key_id});"
                " set that key or re-enter the credential"
            )
        try:
            return self._ring.open(credential_id, key_id, ciphertext).decode()
        except KeyringError:
            raise VaultError(f"{credential_id} does not decrypt: tampered or wrong key") from None


def shown(plaintext: str) -> str:
    """What an answer may show of a key: its last four characters."""
    return plaintext[-SHOWN_CHARS:] if len(plaintext) > 2 * SHOWN_CHARS else ""


def _fingerprint(key: bytes) -> str:
    return hashlib.sha256(b"key-id:" + key).hexdigest()[:16]
