"""Bearer header -> Principal, through the shared verifier (byok_core.auth). Every failure is one opaque
401; the token is never logged."""

from __future__ import annotations

from byok_core.auth import TokenInvalid, TokenVerifier

from .domain.models import Principal, Role


class Unauthorized(Exception):
    """Missing, malformed, forged or expired token."""


class BearerAuth:
    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def principal(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("missing bearer token")
        try:
            identity = await self._verifier.verify(token.strip())
        except TokenInvalid:
            raise Unauthorized("invalid or expired token") from None
        return Principal(user_id=identity.user_id, tenant_id=identity.tenant_id, role=Role(identity.role))
