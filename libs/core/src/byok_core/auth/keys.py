"""Verification keys and the one algorithm each allows: the key's type fixes the algorithm, never the token.

HS256 only with the shared secret; EdDSA only with an Ed25519 key, ES256 only with a P-256 key, RS256 only
with an RSA key of 2048 bits or more. `none`, HS* with a public key, or any other pairing is impossible
because a token's `alg` is only ever used to pick among these (algorithm, key) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256")
MIN_RSA_BITS = 2048


class KeyConfigError(ValueError):
    """A configured verification key is unusable (the message never quotes it)."""


@dataclass(frozen=True)
class VerificationKey:
    algorithm: str
    key: Any  # the secret (str) for HS256, a cryptography public key otherwise
    kid: str | None = None


def algorithm_of(public_key: object) -> str:
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise KeyConfigError("only P-256 EC keys (ES256) are accepted")
        return "ES256"
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < MIN_RSA_BITS:
            raise KeyConfigError(f"RSA keys need at least {MIN_RSA_BITS} bits")
        return "RS256"
    raise KeyConfigError("unsupported public key type (Ed25519, P-256 or RSA)")


def pem_key(value: str) -> VerificationKey:
    """A PEM public key given inline or as the path of a PEM file."""
    text = value.strip()
    if not text.startswith("-----BEGIN"):
        try:
            text = Path(text).read_text()
        except OSError:
            raise KeyConfigError("BYOK_AUTH_JWT_PUBLIC_KEY is neither a PEM public key nor a readable file") from None
    try:
        public_key = load_pem_public_key(text.encode())
    except (ValueError, TypeError):
        raise KeyConfigError("BYOK_AUTH_JWT_PUBLIC_KEY is not a PEM public key") from None
    return VerificationKey(algorithm_of(public_key), public_key)
