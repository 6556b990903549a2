"""The byok sealed-key envelope: a producer seals a request key to the inference worker's public key.

Depends only on `cryptography`, so a light producer client can seal without the services' libraries.
"""

from .envelope import (
    ALGORITHM,
    MAX_SEALED_LENGTH,
    VERSION,
    PublicSealingKey,
    SealedKeyInvalid,
    SealingKeyPair,
    generate_keypair,
    open_sealed,
    seal,
    sealed_kid,
)

__all__ = [
    "ALGORITHM",
    "MAX_SEALED_LENGTH",
    "VERSION",
    "PublicSealingKey",
    "SealedKeyInvalid",
    "SealingKeyPair",
    "generate_keypair",
    "open_sealed",
    "seal",
    "sealed_kid",
]
