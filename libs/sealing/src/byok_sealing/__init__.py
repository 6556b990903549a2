"""The byok sealed-key envelope: a producer seals a request key to the inference worker's public key.

Depends only on `cryptography`, so a light producer client can seal without the services' libraries.
"""

from .envelope import (
    ALGORITHM,
    DEFAULT_MAX_AGE_SECONDS,
    MAX_CLOCK_SKEW_SECONDS,
    MAX_SEALED_LENGTH,
    VERSION,
    PublicSealingKey,
    SealedKeyInvalid,
    SealingKeyPair,
    canonical_time,
    check_age,
    generate_keypair,
    open_sealed,
    seal,
    sealed_kid,
)

__all__ = [
    "ALGORITHM",
    "DEFAULT_MAX_AGE_SECONDS",
    "MAX_CLOCK_SKEW_SECONDS",
    "MAX_SEALED_LENGTH",
    "VERSION",
    "PublicSealingKey",
    "SealedKeyInvalid",
    "SealingKeyPair",
    "canonical_time",
    "check_age",
    "generate_keypair",
    "open_sealed",
    "seal",
    "sealed_kid",
]
