"""What an opted-in tenant's request log keeps of its prompt and answer: redacted, then sealed.

Every string of the request (as it went upstream: what a policy redacted is a placeholder
already) and the answer's text (as kept: nothing restored) pass a screen for every kind of
personal data and secret with the action redact, whatever the policies do with them: an
email a policy only alerts on, or blocks, is a placeholder here too (numbered along with
the request's own placeholders). The document, `{"request": …, "response": …}`, is then
sealed (`store.keyring`, AES-GCM) under the first of `guardrails.prompt_log.keys`, bound to
the request id, and the record keeps the ciphertext beside that key's id, so keys rotate.

Each key is resolved on its own (`Keys`): one that does not resolve costs only what needs
it. Records it sealed do not open until it does; when it is the first key, nothing is
sealed until it does, never under an older key instead (a rotation away from a leaked key
must not fall back to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from llm_proxy.config.guardrails import PII_ENTITIES, Checks, PiiCheck, PromptLog
from llm_proxy.config.secrets import SecretError, resolve_setting
from llm_proxy.guard.detectors import detectors_of
from llm_proxy.guard.placeholders import Redactor
from llm_proxy.guard.screen import Screen
from llm_proxy.store.keyring import Keyring, KeyringError, derive

_PURPOSE = b"llm-proxy prompt log v1"
_EVERYTHING = Screen(
    detectors_of(Checks(pii=PiiCheck(entities=list(PII_ENTITIES), action="redact")))
)


@dataclass(frozen=True, slots=True)
class Keys:
    """The keys a config names, as they resolved: those that did, in order, and why each
    of the others did not (its SecretError's message: the setting and what is missing,
    never a key)."""

    keyring: Keyring | None
    # The id of the first configured key, which seals new records.
    sealing: str
    unresolved: dict[str, str]

    @property
    def sealer(self) -> Keyring | None:
        """The keys to seal new records with: None while the first one does not resolve."""
        return None if self.sealing in self.unresolved else self.keyring

    def opener(self, key_id: str) -> Keyring:
        """The keys to open a record `key_id` sealed; raises KeyringError when it does not
        resolve (the others still open theirs)."""
        why = self.unresolved.get(key_id)
        if why is not None:
            raise KeyringError(f"its key {key_id!r} does not resolve ({why})")
        if self.keyring is None:
            raise KeyringError("no key of guardrails.prompt_log resolves")
        return self.keyring


def resolved(config: PromptLog) -> Keys:
    """The keys `config` names, each resolved now on its own."""
    keys: dict[str, bytes] = {}
    unresolved: dict[str, str] = {}
    for index, key in enumerate(config.keys):
        try:
            secret = resolve_setting(key.key_ref, f"guardrails.prompt_log.keys.{index}.key_ref")
        except SecretError as error:
            unresolved[key.id] = str(error)
            continue
        keys[key.id] = derive(secret, _PURPOSE)
    return Keys(Keyring(keys) if keys else None, config.keys[0].id, unresolved)


def sealed(
    keyring: Keyring,
    request_id: str,
    request: dict[str, Any],
    answer: str | None,
    redactor: Redactor,
    max_chars: int,
) -> dict[str, str]:
    """The record's `sealed_prompt`: the key's id and the redacted document sealed, each
    of its texts cut to `max_chars` (`truncated` says whether one was).

    Raises TypeError for a document JSON cannot hold (nothing is logged then)."""
    cut = _Cut(redactor, max_chars)
    document = {
        "request": cut.redacted(request),
        "response": None if answer is None else cut.text(answer),
    }
    document["truncated"] = cut.truncated
    return {
        "key_id": keyring.sealing_key,
        "sealed": keyring.seal(request_id, orjson.dumps(document)),
    }


def opened(keyring: Keyring, request_id: str, key_id: str, sealed: str) -> Any:
    """The document `sealed` sealed (still redacted); raises KeyringError."""
    return orjson.loads(keyring.open(request_id, key_id, sealed))


class _Cut:
    """Texts redacted, then cut to a length (redacted first: a cut never leaves part of a
    value in the clear)."""

    def __init__(self, redactor: Redactor, max_chars: int) -> None:
        self._redactor = redactor
        self._max = max_chars
        self.truncated = False

    def redacted(self, value: Any) -> Any:
        """Every string in `value` redacted and cut, object keys included (a body is nested
        64 deep at most: the API layer refuses deeper ones)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(key): self.redacted(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.redacted(item) for item in value]
        return value

    def text(self, value: str) -> str:
        findings = _EVERYTHING.scan(value)
        if findings:
            value = self._redactor.redact(value, findings, restorable=False)
        if len(value) > self._max:
            self.truncated = True
            return value[: self._max]
        return value
