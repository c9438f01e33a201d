"""A small identity provider on loopback, for the tests: real keys, a real JWKS over HTTP.

The keys are generated here (RSA 2048 and P-256); `rotate()` adds a new signing key and
drops the old one, as an issuer does. `token()` signs whatever claims a test wants,
with sensible defaults for the rest; `jwks_requests` counts how often the gateway came
for the keys.

It is also an OIDC provider for one client (authorization code with PKCE, S256 only):
discovery, an HTML login form at `/authorize` (a user name, no password: the users and
their claims are `users`), `/token` checking the code, client, redirect URI and the code
verifier against the challenge, and answering with a signed ID token carrying the nonce.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

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
        # OIDC: the one client, its users' claims, the codes issued and not yet redeemed.
        self.client_id = "gateway-dashboard"
        self.redirect_uri = ""
        self.users: dict[str, dict[str, Any]] = {}
        self._codes: dict[str, dict[str, Any]] = {}
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

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": self.jwks_url,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        }

    def login_form(self, query: dict[str, list[str]]) -> str:
        kept = ("client_id", "redirect_uri", "state", "nonce", "code_challenge", "scope")
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query[name][0])}">'
            for name in kept
            if name in query
        )
        method = query.get("code_challenge_method", [""])[0]
        return (
            "<!doctype html><html lang=en><title>Test IdP</title><main><h1>Sign in</h1>"
            f'<form method="post" action="/authorize">{hidden}'
            f'<input type="hidden" name="method" value="{html.escape(method)}">'
            '<label>User name <input name="username"></label>'
            '<button type="submit">Sign in</button></form></main></html>'
        )

    def authorize(self, form: dict[str, list[str]]) -> str:
        """The login form's submission: a code for the user, back to the client."""
        field = {name: values[0] for name, values in form.items()}
        assert field.get("client_id") == self.client_id
        assert field.get("redirect_uri") == self.redirect_uri
        assert field.get("method") == "S256" and field.get("code_challenge")
        code = secrets.token_urlsafe(16)
        self._codes[code] = field
        return f"{self.redirect_uri}?{urlencode({'code': code, 'state': field['state']})}"

    def exchange(self, form: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        field = {name: values[0] for name, values in form.items()}
        issued = self._codes.pop(field.get("code", ""), None)
        if issued is None:
            return 400, {"error": "invalid_grant"}
        verifier = field.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
        if (
            challenge.decode() != issued["code_challenge"]
            or field.get("client_id") != self.client_id
            or field.get("redirect_uri") != issued["redirect_uri"]
        ):
            return 400, {"error": "invalid_grant"}
        user = issued.get("username", "")
        claims = {
            "sub": user,
            "aud": self.client_id,
            "nonce": issued.get("nonce"),
            **self.users.get(user, {}),
        }
        return 200, {"id_token": self.token(claims), "token_type": "Bearer"}

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                if url.path == "/jwks":
                    provider.jwks_requests += 1
                    self._json(provider.jwks())
                elif url.path == "/.well-known/openid-configuration":
                    self._json(provider.discovery())
                elif url.path == "/authorize":
                    self._page(provider.login_form(parse_qs(url.query)))
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                path = urlsplit(self.path).path
                if path == "/authorize":
                    self._redirect(provider.authorize(form))
                elif path == "/token":
                    status, answer = provider.exchange(form)
                    self._json(answer, status)
                else:
                    self.send_error(404)

            def _json(self, document: dict[str, Any], status: int = 200) -> None:
                body = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _page(self, text: str) -> None:
                body = text.encode()
                self.send_response(200)
                self.send_header("content-type", "text/html; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _redirect(self, location: str) -> None:
                self.send_response(302)
                self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

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
