"""Bearer JWT (HS256) -> Principal. Every failure is one opaque 401; the token is never logged."""

from __future__ import annotations

import re

import jwt

from .domain.models import Principal, Role

_ID = re.compile(r"[A-Za-z0-9_.@\-]{1,128}")  # the same rule as Vault path segments (byok_core.key_paths)
REQUIRED_CLAIMS = ["sub", "tenant", "role", "exp"]


class Unauthorized(Exception):
    """Missing, malformed, forged or expired token."""


class TokenVerifier:
    def __init__(self, secret: str, *, leeway_seconds: int = 10) -> None:
        self._secret = secret
        self._leeway = leeway_seconds

    def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token")
        try:
            claims = jwt.decode(
                token.strip(),
                self._secret,
                algorithms=["HS256"],
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError:
            raise Unauthorized("invalid or expired token") from None
        sub, tenant, role = claims.get("sub"), claims.get("tenant"), claims.get("role")
        if not (isinstance(sub, str) and isinstance(tenant, str)) or not (_ID.fullmatch(sub) and _ID.fullmatch(tenant)):
            raise Unauthorized("invalid token claims")
        if sub in (".", "..") or tenant in (".", ".."):
            raise Unauthorized("invalid token claims")
        try:
            return Principal(user_id=sub, tenant_id=tenant, role=Role(str(role)))
        except ValueError:
            raise Unauthorized("invalid token claims") from None
