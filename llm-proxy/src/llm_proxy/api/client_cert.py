"""mTLS: which configured client (`gateway.tls.clients`) a request's certificate is.

The TLS handshake has verified the certificate against `gateway.tls.client_ca_file`
(see `connections`); this middleware only reads it (ASGI's TLS extension) and matches its
subject or subject alternative names against the table. The match travels to `identify`
as the pseudo-header `:client-certificate` (the entry's name). An HTTP/1.1 header name
cannot contain a colon, so no client can send one; any that arrives is dropped anyway.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509
from starlette.types import ASGIApp, Receive, Scope, Send

from llm_proxy.config.client_auth import ClientCertificate
from llm_proxy.pipeline.identify import CERTIFICATE_HEADER

_HEADER = CERTIFICATE_HEADER.encode()
_MAX_REMEMBERED = 10_000


class ClientCertificates:
    def __init__(self, app: ASGIApp, clients: list[ClientCertificate]) -> None:
        self.app = app
        self._by_subject = {c.subject: c.name for c in clients if c.subject is not None}
        self._by_san = {c.san: c.name for c in clients if c.san is not None}
        # PEM → the matching entry's name ("" for none): parsed once per certificate.
        self._matched: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(k, v) for k, v in scope["headers"] if k != _HEADER]
            name = self._match(scope.get("extensions") or {})
            if name:
                headers.append((_HEADER, name.encode()))
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)

    def _match(self, extensions: dict[str, Any]) -> str:
        chain = (extensions.get("tls") or {}).get("client_cert_chain") or []
        if not chain:
            return ""
        pem: str = chain[0]
        name = self._matched.get(pem)
        if name is None:
            name = self._lookup(x509.load_pem_x509_certificate(pem.encode()))
            if len(self._matched) >= _MAX_REMEMBERED:
                self._matched.clear()
            self._matched[pem] = name
        return name

    def _lookup(self, certificate: x509.Certificate) -> str:
        subject = self._by_subject.get(certificate.subject.rfc4514_string())
        if subject is not None:
            return subject
        try:
            extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            return ""
        alternatives = extension.value
        for kind in (x509.DNSName, x509.UniformResourceIdentifier, x509.RFC822Name):
            for value in alternatives.get_values_for_type(kind):
                if value in self._by_san:
                    return self._by_san[value]
        return ""
