"""Signed tokens from identity providers: their keys (JWKS), verification, claim mapping."""
