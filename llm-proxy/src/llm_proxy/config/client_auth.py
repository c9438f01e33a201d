"""Who clients may prove they are besides virtual keys: signed tokens and certificates.

`auth.jwt`: which token issuers the gateway trusts, and how their claims map to callers.
`gateway.tls.clients`: which client certificates (mTLS) stand for which callers.

Only asymmetric signatures are accepted (RSA, RSA-PSS, ECDSA, EdDSA): a JWKS holds public
keys, so an HMAC algorithm would make a published key the shared secret (the HS/RS
confusion), and `none` would need no key at all. Both are refused when the config loads.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

from llm_proxy.config.base import Strict

Algorithm = Literal[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"
]
GatewayRole = Literal["admin", "developer", "readonly"]

# `$`, then `.name` or `[index]` steps: `$.groups[0]`, `$.realm_access.roles`.
_PATH = re.compile(r"^\$(\.[A-Za-z_][A-Za-z0-9_:\-]*|\[\d+\])+$")


ClaimPath = Annotated[str, Field(pattern=_PATH.pattern)]


class ClaimMap(Strict):
    """Where in a token's claims each part of the caller's identity is read."""

    # A gateway team, by id or by name; its limits and budget apply.
    team_id: ClaimPath | None = None
    # A gateway user, by id or by email; when none matches, the subject alone is counted.
    user_id: ClaimPath | None = None
    # A list (or space-separated string) of the models the caller may use; a token
    # without that claim may use any model (as a key without `allowed_models`).
    allowed_models: ClaimPath | None = None
    # A list (or space-separated string) of roles; see `roles` on the issuer.
    roles: ClaimPath | None = None
    subject: ClaimPath = "$.sub"


class JwtIssuer(Strict):
    # The `iss` claim, exactly.
    issuer: Annotated[str, Field(min_length=1)]
    jwks_url: Annotated[str, Field(pattern=r"^https?://")] | None = None
    jwks_file: str | None = None
    # A token's `aud` must name at least one of these.
    audiences: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    algorithms: Annotated[list[Algorithm], Field(min_length=1)] = ["RS256", "ES256"]
    clock_skew_s: Annotated[float, Field(ge=0, le=600)] = 30.0
    claims: ClaimMap = ClaimMap()
    # The keys are fetched again this often, and on a token naming an unknown `kid` —
    # but not more often than `jwks_min_refresh_s`, so forged kids cannot flood the IdP.
    jwks_cache_ttl_s: Annotated[float, Field(gt=0)] = 300.0
    jwks_min_refresh_s: Annotated[float, Field(ge=0)] = 30.0
    jwks_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    # The identity provider's role names → the gateway's (for `/admin/*` and the dashboard);
    # a role named the gateway's way maps to itself.
    roles: dict[str, GatewayRole] = {}

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtIssuer:
        if (self.jwks_url is None) == (self.jwks_file is None):
            raise ValueError("give exactly one of 'jwks_url' and 'jwks_file'")
        return self


class JwtAuth(Strict):
    issuers: Annotated[list[JwtIssuer], Field(min_length=1)]
    # Verified tokens are remembered (until they expire, or the keys change) so a client
    # sending the same token again costs a lookup, not a signature check.
    verified_cache_size: Annotated[int, Field(ge=0, le=1_000_000)] = 10_000

    @model_validator(mode="after")
    def _unique_issuers(self) -> JwtAuth:
        names = [i.issuer for i in self.issuers]
        if len(set(names)) != len(names):
            raise ValueError("each issuer may be listed once")
        return self


class ClientCertificate(Strict):
    """A client certificate (verified against `client_ca_file`) and the caller it stands for.

    Matched by the certificate's subject (RFC 4514, most specific first: `CN=billing,O=Corp`)
    or by one of its subject alternative names (a DNS name, URI or email, exactly).
    """

    # The caller's id in the spend log and per-key limits is `cert_<name>`.
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]{1,32}$")]
    subject: Annotated[str, Field(min_length=1)] | None = None
    san: Annotated[str, Field(min_length=1)] | None = None
    # A gateway team (by id or name) and user (by id or email) whose limits apply.
    team_id: str | None = None
    user_id: str | None = None
    allowed_models: list[str] = []
    # True: the certificate alone does not identify; the request needs a key (or token)
    # too, and when `team_id` is set that key must be of that team.
    key_required: bool = False

    @model_validator(mode="after")
    def _one_match(self) -> ClientCertificate:
        if (self.subject is None) == (self.san is None):
            raise ValueError("give exactly one of 'subject' and 'san'")
        return self


class DashboardSso(Strict):
    """`auth.sso`: the dashboard's single sign-on, OIDC authorization code with PKCE.

    The provider is found by discovery (`{issuer}/.well-known/openid-configuration`); its
    ID token is verified as `auth.jwt` tokens are (its JWKS, `aud` = the client id, and
    the login's nonce). Roles come from `claims.roles` through `roles`; a login mapped to
    no gateway role is refused.
    """

    issuer: Annotated[str, Field(pattern=r"^https?://")]
    client_id: Annotated[str, Field(min_length=1)]
    # A confidential client's secret (env:/file:); without one, PKCE alone (public client).
    client_secret_ref: str | None = None
    # Where the provider sends the browser back: this gateway's public
    # `/admin/session/oidc/callback` URL, registered with the provider.
    redirect_uri: Annotated[str, Field(pattern=r"^https?://")]
    scopes: list[str] = ["openid", "profile", "email"]
    algorithms: Annotated[list[Algorithm], Field(min_length=1)] = ["RS256", "ES256"]
    clock_skew_s: Annotated[float, Field(ge=0, le=600)] = 30.0
    claims: ClaimMap = ClaimMap(roles="$.roles")
    roles: dict[str, GatewayRole] = {}
    # Where the browser lands once logged in.
    after_login: str = "/ui/"
    # The login page's button.
    button_label: Annotated[str, Field(min_length=1, max_length=60)] = "Sign in with single sign-on"
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 10.0

    @model_validator(mode="after")
    def _secret_is_a_reference(self) -> DashboardSso:
        ref = self.client_secret_ref
        if ref is not None and not ref.startswith(("env:", "file:")):
            raise ValueError("client_secret_ref must be 'env:NAME' or 'file:PATH'")
        if not self.after_login.startswith("/") or self.after_login.startswith("//"):
            raise ValueError("after_login must be a path on this gateway")
        return self
