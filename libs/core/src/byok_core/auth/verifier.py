"""Token -> Identity. Every refusal is one TokenInvalid with a generic message: never the token, never why
a signature failed in detail beyond a short reason code (logged by callers without the token)."""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from .jwks import JwksKeys
from .keys import ASYMMETRIC_ALGORITHMS, VerificationKey, pem_key
from .settings import AuthSettings

# Ids that can safely name a key's place (byok_core.vault.key_codec percent-encodes whatever else passes).
_ID = re.compile(r"[A-Za-z0-9_.@\-]{1,128}")
ROLES = ("member", "admin")
REQUIRED_CLAIMS = ["sub", "tenant", "role", "exp", "iat"]
MAX_TOKEN_CHARS = 8192


class TokenInvalid(Exception):
    """Missing, malformed, forged, expired or over-long-lived token. `reason` is a short code, safe to log."""

    def __init__(self, reason: str) -> None:
        super().__init__("invalid or expired token")
        self.reason = reason


@dataclass(frozen=True)
class Identity:
    user_id: str
    tenant_id: str
    role: str
    expires_at: int


class TokenVerifier:
    def __init__(
        self,
        *,
        secret: str | None = None,
        public_key: VerificationKey | None = None,
        jwks: JwksKeys | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        max_token_seconds: int = 86400,
        leeway_seconds: int = 10,
        cache_entries: int = 10_000,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._public = public_key
        self._jwks = jwks
        self._audience = audience
        self._issuer = issuer
        self._max_lifetime = max_token_seconds
        self._leeway = leeway_seconds
        # Tokens already verified (a user sends many prompts with one token): bounded, and an entry lives
        # at most cache_seconds and never past the token's exp, so a key removed from a JWKS stops being
        # trusted within that time. Only successes are cached.
        self._cache: OrderedDict[str, tuple[float, Identity]] = OrderedDict()
        self._cache_entries = cache_entries
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._options: Any = {
            "require": REQUIRED_CLAIMS + (["aud"] if audience else []) + (["iss"] if issuer else []),
            "verify_aud": audience is not None,
            "verify_iss": issuer is not None,
        }

    @property
    def algorithms(self) -> tuple[str, ...]:
        """What this verifier can accept, from its configured keys (JWKS: any asymmetric kind)."""
        found = ["HS256"] if self._secret else []
        if self._public is not None:
            found.append(self._public.algorithm)
        if self._jwks is not None:
            found += [a for a in ASYMMETRIC_ALGORITHMS if a not in found]
        return tuple(found)

    async def verify(self, token: str | None) -> Identity:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenInvalid("missing" if not token else "too_long")
        now = self._clock()
        cached = self._cache.get(token)
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            del self._cache[token]
        identity = await self._verify(token)
        if self._cache_entries > 0:
            self._cache[token] = (min(now + self._cache_seconds, identity.expires_at + self._leeway), identity)
            if len(self._cache) > self._cache_entries:
                self._cache.popitem(last=False)
        return identity

    async def _verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("malformed") from None
        key = await self._key_for(header)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options=self._options,
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid("expired") from None
        except jwt.PyJWTError:
            raise TokenInvalid("rejected") from None
        return self._identity(claims)

    async def _key_for(self, header: dict[str, Any]) -> VerificationKey:
        algorithm = header.get("alg")
        if algorithm == "HS256" and self._secret:
            return VerificationKey("HS256", self._secret)
        if algorithm in ASYMMETRIC_ALGORITHMS:
            if self._public is not None and self._public.algorithm == algorithm:
                return self._public
            if self._jwks is not None:
                kid = header.get("kid")
                found = await self._jwks.find(kid if isinstance(kid, str) else None)
                if found is not None and found.algorithm == algorithm:
                    return found
                raise TokenInvalid("unknown_key")
        raise TokenInvalid("algorithm")

    def _identity(self, claims: dict[str, Any]) -> Identity:
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp, bool) or isinstance(iat, bool):
            raise TokenInvalid("claims")
        if exp - iat > self._max_lifetime or exp <= iat:
            raise TokenInvalid("lifetime")
        sub, tenant, role = claims.get("sub"), claims.get("tenant"), claims.get("role")
        for value in (sub, tenant):
            if not isinstance(value, str) or not _ID.fullmatch(value) or value in (".", ".."):
                raise TokenInvalid("claims")
        if role not in ROLES:
            raise TokenInvalid("claims")
        return Identity(user_id=sub, tenant_id=tenant, role=role, expires_at=exp)  # type: ignore[arg-type]


def build_verifier(settings: AuthSettings, *, fallback_secret: str | None = None) -> TokenVerifier:
    """The verifier of these settings; `fallback_secret` is used as the HS256 secret when none is set."""
    jwks = None
    if settings.jwks_url:
        jwks = JwksKeys(
            settings.jwks_url,
            cache_seconds=settings.jwks_cache_seconds,
            min_refresh_seconds=settings.jwks_min_refresh_seconds,
            timeout_seconds=settings.jwks_timeout_seconds,
        )
    return TokenVerifier(
        secret=settings.secret() or fallback_secret,
        public_key=pem_key(settings.jwt_public_key) if settings.jwt_public_key else None,
        jwks=jwks,
        audience=settings.audience,
        issuer=settings.issuer,
        max_token_seconds=settings.max_token_seconds,
        leeway_seconds=settings.jwt_leeway_seconds,
    )
