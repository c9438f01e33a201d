"""A small identity provider on loopback, for the tests: real keys, a real JWKS over HTTP.

The keys are generated here (RSA 2048 and P-256); `rotate()` adds a new signing key and
drops the old one, as an issuer does. `token()` signs whatever claims a test wants,
with sensible defaults for the rest; `jwks_requests` counts how often the gateway came
for the keys.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

AUDIENCE = "llm-gateway"


class SigningKey:
    def __init__(self, alg: str) -> None:
        self.alg = alg
        self.kid = f"{alg.lower()}-{uuid.uuid4().hex[:8]}"
        if alg == "ES256":
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        self.jwk: dict[str, Any] = {**public, "kid": self.kid, "use": "sig", "alg": alg}


class IdentityProvider:
    def __init__(self) -> None:
        self.keys = [SigningKey("RS256"), SigningKey("ES256")]
        self.jwks_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.issuer = self.url
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk for key in self.keys]}

    def rotate(self) -> SigningKey:
        """A new RSA key replaces the first one: tokens it signed stop verifying."""
        fresh = SigningKey("RS256")
        self.keys = [fresh, *self.keys[1:]]
        return fresh

    def token(
        self,
        claims: dict[str, Any] | None = None,
        key: SigningKey | None = None,
        lifetime_s: float = 300,
        **header: Any,
    ) -> str:
        return sign(key or self.keys[0], self.issuer, claims, lifetime_s, **header)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                provider.jwks_requests += 1
                self._json(provider.jwks())

            def _json(self, document: dict[str, Any]) -> None:
                body = json.dumps(document).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def sign(
    key: SigningKey,
    issuer: str,
    claims: dict[str, Any] | None = None,
    lifetime_s: float = 300,
    **header: Any,
) -> str:
    """A token from `issuer` signed by `key`: defaults for the usual claims, `claims` win."""
    now = int(time.time())
    body = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": f"user-{uuid.uuid4().hex[:6]}",
        "iat": now,
        "exp": now + int(lifetime_s),
        "jti": uuid.uuid4().hex,
        **(claims or {}),
    }
    return jwt.encode(body, key.private, algorithm=key.alg, headers={"kid": key.kid, **header})
