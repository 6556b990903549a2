"""The user's authority over a stored key: the `byok-user-token` header, verified with byok_core.auth.

A token counts only when the shared verifier accepts it (the key-vault API would) and its `tenant` and
`sub` are the event's tenant_id and user_id. With BYOK_INFERENCE_USER_AUTH=off every prompt may use
the stored keys of the tenant and user it names (development, or a trusted producer network): the
handler then has no authority (Deps.authority None).
The token is never logged: refusals log the verifier's short reason code only.
"""

from __future__ import annotations

import logging

from byok_core.auth import TokenInvalid, TokenVerifier

log = logging.getLogger("byok.inference.auth")

USER_TOKEN_HEADER = "byok-user-token"


class TokenAuthority:
    def __init__(self, verifier: TokenVerifier) -> None:
        self._verifier = verifier

    async def allows(self, token: str | None, tenant_id: str, user_id: str | None) -> bool:
        if token is None:
            log.info("no user token: stored keys are not usable for this prompt")
            return False
        try:
            identity = await self._verifier.verify(token)
        except TokenInvalid as refused:
            log.info("user token refused", extra={"reason": refused.reason})
            return False
        if identity.tenant_id != tenant_id or identity.user_id != user_id:
            log.info("user token of another tenant or user", extra={"reason": "subject"})
            return False
        return True


def token_of(headers: object) -> str | None:
    """The bare JWT of a record's `byok-user-token` header, None when absent or not ASCII text."""
    for name, value in headers or ():  # type: ignore[attr-defined]
        if name == USER_TOKEN_HEADER:
            try:
                text = bytes(value).decode("ascii").strip()
            except (UnicodeDecodeError, TypeError):
                return None
            return text or None
    return None
