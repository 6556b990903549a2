"""Bearer-token verification shared by the key-vault API and the inference worker (contract: "Who may spend a key").

One verifier for every token the platform accepts: HS256 with BYOK_AUTH_JWT_SECRET, and EdDSA, ES256, RS256
with BYOK_AUTH_JWT_PUBLIC_KEY (PEM) or BYOK_AUTH_JWKS_URL (rotation by kid).
"""

from .jwks import JwksKeys
from .settings import DEV_JWT_SECRET, AuthSettings, auth_problems
from .verifier import Identity, TokenInvalid, TokenVerifier, build_verifier

__all__ = [
    "DEV_JWT_SECRET",
    "AuthSettings",
    "Identity",
    "JwksKeys",
    "TokenInvalid",
    "TokenVerifier",
    "auth_problems",
    "build_verifier",
]
