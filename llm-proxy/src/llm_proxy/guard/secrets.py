"""Credentials: provider API keys, cloud and chat tokens, private keys, JWTs, our own keys.

Each kind is the layout its issuer documents (the same ones `detect-secrets` and gitleaks
look for), anchored on the issuer's prefix so prose and hashes do not match: OpenAI `sk-…`
(project, service-account and admin keys too), Anthropic `sk-ant-…`, AWS access key ids,
GitHub tokens, Slack tokens and webhooks, PEM private-key blocks, JWTs, and the gateway's own
virtual keys and admin tokens (`sk-gw-…`, `sk-gwadmin-…`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import re2

from llm_proxy.guard.text import Text
from llm_proxy.store.credentials import ADMIN_TOKEN_PREFIX, KEY_PREFIX

ENTITY = "secret"

KINDS: dict[str, bytes] = {
    "gateway_key": rb"(?:"
    + ADMIN_TOKEN_PREFIX.encode()
    + rb"|"
    + KEY_PREFIX.encode()
    + rb")[A-Za-z0-9_-]{32,}",
    "anthropic_key": rb"sk-ant-(?:api|admin|oat|sid)\d{2}-[A-Za-z0-9_-]{32,}",
    # Legacy keys are 48 base62 characters; project and service keys are longer and hold
    # _ and -. Words joined by dashes (`sk-not-a-real-key`) have no digit: checked after.
    "openai_key": rb"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}",
    "aws_access_key": rb"(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}",
    "github_token": rb"gh[opusr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255}",
    "slack_token": rb"xox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{6,}"
    rb"|https://hooks\.slack\.com/services/T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{20,}",
    "private_key": rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"
    rb"[A-Za-z0-9+/=\s:,-]{16,}?-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
    "jwt": rb"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
}
# What each kind starts with: the prefilter of a detector of that kind.
PREFIXES: dict[str, bytes] = {
    "gateway_key": KEY_PREFIX.encode(),
    "anthropic_key": rb"sk-ant-",
    "openai_key": rb"sk-",
    "aws_access_key": rb"AKIA|ASIA|ABIA|ACCA",
    "github_token": rb"gh[opusr]_|github_pat_",
    "slack_token": rb"xox[abposr]-|hooks\.slack\.com",
    "private_key": rb"-----BEGIN",
    "jwt": rb"eyJ",
}
PATTERN = b"|".join(
    b"(?P<" + kind.encode() + b">" + layout + b")" for kind, layout in KINDS.items()
)
_CANDIDATE = re2.compile(PATTERN)
# Cheap to look for, in one pass with every other check's: where it does not match,
# PATTERN cannot either.
PREFILTER = (
    rb"sk-|AKIA|ASIA|ABIA|ACCA|gh[opusr]_|github_pat_|xox[abposr]-|hooks\.slack\.com|-----BEGIN|eyJ"
)
# The start of a private-key block whose end has not come yet: a stream holds it back.
OPEN_BLOCK = re2.compile(rb"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY")


_BY_KIND = {kind: re2.compile(layout) for kind, layout in KINDS.items()}


def find(text: Text) -> Iterator[tuple[int, int]]:
    for _kind, start, end in find_kinds(text):
        yield start, end


def finder(kind: str) -> Callable[[Text], Iterator[tuple[int, int]]]:
    """Character spans of one kind of credential."""
    compiled = _BY_KIND[kind]

    def find(text: Text) -> Iterator[tuple[int, int]]:
        for match in compiled.finditer(text.data):
            start, end = match.span()
            if _credible(kind, text, start, end, match.group()):
                yield text.chars(start, end)

    return find


def find_kinds(text: Text) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of each credential, character offsets."""
    for match in _CANDIDATE.finditer(text.data):
        start, end = match.span()
        kind = (match.lastgroup or b"secret").decode()
        if _credible(kind, text, start, end, match.group()):
            yield (kind, *text.chars(start, end))


def _credible(kind: str, text: Text, start: int, end: int, found: bytes) -> bool:
    if kind != "private_key" and not text.bounded(start, end, b"-", b"-"):
        return False
    return kind != "openai_key" or _random_looking(found[3:])


def _random_looking(body: bytes) -> bool:
    return any(0x30 <= ch <= 0x39 for ch in body) and any(ch >= 0x41 for ch in body)
